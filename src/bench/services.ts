import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type WebSocket from 'ws';
import { deletePrefixedKeys } from '../queue/redis.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface Service {
  child: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/** Starts `dist/main/<entry>.js` with `env` added, resolving once it says it is ready. */
export function startService(entry: 'api' | 'worker', env: NodeJS.ProcessEnv): Promise<Service> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, '../main', `${entry}.js`)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const ready = entry === 'api' ? /api listening/ : /worker waiting for jobs/;
    const service: Service = {
      child,
      log: () => log,
      stop: () =>
        new Promise((done) =>
          child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM')),
        ),
    };
    // Resolving again once ready is a no-op, as is rejecting after that.
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (ready.test(log)) resolve(service);
    });
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${log}`)));
  });
}

/** A number for a report: grouped thousands, `digits` decimals. */
export const format = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A `/proc/<pid>/status` memory field (VmRSS, VmHWM, ...) in bytes. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** Leaves Redis as the benchmark found it (REDIS_URL, or the local default). */
export async function deleteQueueKeys(prefix: string): Promise<void> {
  // Best effort: a benchmark's figures matter more than its leftovers.
  await deletePrefixedKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix).catch(() => undefined);
}

/** A WebSocket message's text (ws hands text frames over as bytes). */
export function messageText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return data instanceof ArrayBuffer ? Buffer.from(data).toString() : data.toString();
}
