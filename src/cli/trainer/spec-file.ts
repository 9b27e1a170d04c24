import { readFile } from 'node:fs/promises';
import { UsageError } from './exit-codes.js';

/** Line and column (1-based) of a character offset, for JSON.parse's "at position N". */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/**
 * A spec file's JSON object, or a UsageError naming the file (and where its JSON breaks). What the
 * object's fields must hold is the server's to say: its issues come back by field.
 */
export async function readSpecFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? '' : ` at ${lineAndColumn(text, Number(position))}`;
    throw new UsageError(`${file} is not valid JSON${where}: ${message}`, [], file);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new UsageError(
      `${file} must hold a JSON object (a spec)`,
      [{ path: '', message: 'must be an object' }],
      file,
    );
  }
  return spec as Record<string, unknown>;
}
