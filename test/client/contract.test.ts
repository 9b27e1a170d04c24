import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { contractFiles, onDisk } from '../../scripts/client-contract.js';

/** The first line where `committed` and `generated` part, to point at without printing whole files. */
function firstDifference(committed: string, generated: string): string | null {
  const was = committed.split('\n');
  const now = generated.split('\n');
  for (let line = 0; line < Math.max(was.length, now.length); line++)
    if (was[line] !== now[line])
      return `line ${line + 1}: committed ${JSON.stringify(was[line])}, now ${JSON.stringify(now[line])}`;
  return null;
}

// The client package's OpenAPI document and types are generated from the routes and committed; a
// route whose schema changed without `npm run generate:client` fails here, naming the stale file.
describe('the client contract', () => {
  it('is what the routes generate now (run `npm run generate:client` when this fails)', async () => {
    const stale = [];
    for (const file of await contractFiles()) {
      const committed = await readFile(onDisk(file), 'utf8').catch(() => '');
      const difference = firstDifference(committed, file.text);
      if (difference) stale.push(`${file.path} is stale at ${difference}`);
    }
    expect(stale).toEqual([]);
  });
});
