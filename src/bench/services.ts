import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
    const child = spawn(process.execPath, [path.join(here, '../main', `${entry}.js`)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const ready = entry === 'api' ? /api listening/ : /worker waiting for jobs/;
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (ready.test(log)) {
        child.stdout.off('data', onData);
        child.stdout.on('data', (more: Buffer) => (log += more.toString()));
        resolve({
          child,
          log: () => log,
          stop: () => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM')))),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${log}`)));
  });
}


/** Leaves Redis as the benchmark found it (REDIS_URL, or the local default). */
export async function deleteQueueKeys(prefix: string): Promise<void> {
  // Best effort: a benchmark's figures matter more than its leftovers.
  await deletePrefixedKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix).catch(() => undefined);
}
