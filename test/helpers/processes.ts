import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';
import { s3UrlOf, type S3Target } from '../../src/store/artifacts/s3-location.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildService {
  child: ChildProcess;
  output(): string;
  /** Resolves once a log line matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A parsed configuration value as the environment spells it (lists comma-separated, ARTIFACT_STORE a URL). */
export function envValueOf(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  if (value !== null && typeof value === 'object' && 'bucket' in value && 'prefix' in value) {
    return s3UrlOf(value as S3Target);
  }
  return String(value);
}

/**
 * Starts `dist/main/<entry>.js` with the test's configuration as its environment, and with
 * `--disable-proto=delete` as every documented way of starting it does (unless `nodeFlags` says otherwise).
 */
export function spawnService(
  entry: 'worker' | 'api' | 'all',
  config: Config,
  extraEnv: Record<string, string> = {},
  nodeFlags: readonly string[] = ['--disable-proto=delete'],
): ChildService {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', ...extraEnv };
  for (const [key, value] of Object.entries(config))
    if (!(key in extraEnv) && key !== 'LOG_LEVEL') env[key] = envValueOf(value);
  const child = spawn(process.execPath, [...nodeFlags, path.join(root, 'dist/main', `${entry}.js`)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => log,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(log)) {
        if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}:\n${log}`);
        if (Date.now() > deadline) throw new Error(`${entry} never logged ${pattern}:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
