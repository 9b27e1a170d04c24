/** Where a command's results go, and how they look: JSON lines, or text with colours on a terminal. */
export interface Output {
  /** `--json`: one JSON object per result (per line while following), no colours, no bars. */
  readonly json: boolean;
  /** Whether progress bars are drawn: stderr is a terminal and `--json` is off. */
  readonly bars: boolean;
  /** A result: `value` as a JSON line with --json, else `text` (nothing when it is undefined). */
  result(value: unknown, text?: string): void;
  /** A line for people only (not written with --json). */
  say(text: string): void;
  /** A line on stderr, with --json too. */
  warn(text: string): void;
  /** Raw bytes or text to stdout, as they are. */
  stream: NodeJS.WritableStream;
  readonly style: Style;
}

/** ANSI colours, or nothing when colours are off. */
export interface Style {
  bold: (text: string) => string;
  dim: (text: string) => string;
  green: (text: string) => string;
  red: (text: string) => string;
  yellow: (text: string) => string;
}

const plain: Style = { bold: (t) => t, dim: (t) => t, green: (t) => t, red: (t) => t, yellow: (t) => t };
const ansi = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const coloured: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  green: ansi(32, 39),
  red: ansi(31, 39),
  yellow: ansi(33, 39),
};

export interface OutputOptions {
  json: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/** Colours only on a terminal, never with --json, and never when NO_COLOR is set (https://no-color.org). */
export function createOutput({
  json,
  stdout = process.stdout,
  stderr = process.stderr,
  env = process.env,
}: OutputOptions): Output {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const style = !json && stdout.isTTY && !noColor ? coloured : plain;
  return {
    json,
    bars: !json && stderr.isTTY === true,
    style,
    stream: stdout,
    result(value, text) {
      if (json) stdout.write(`${JSON.stringify(value)}\n`);
      else if (text !== undefined) stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    say(text) {
      if (!json) stdout.write(`${text}\n`);
    },
    warn(text) {
      stderr.write(`${text}\n`);
    },
  };
}
