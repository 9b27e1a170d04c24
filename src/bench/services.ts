import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type WebSocket from 'ws';
import { deletePrefixedKeys } from '../queue/redis.js';
import { dropDatabase } from '../store/database.js';
import { loadConfig } from '../config.js';
import { createArtifactStore } from '../store/artifacts/artifact-store-factory.js';
import type { RoutedArtifactStore } from '../store/artifacts/routed-artifact-store.js';
import type { PrismaClient } from '../store/database.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface Service {
  child: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/**
 * Starts `dist/main/<entry>.js` (or `script`, e.g. another checkout's build of it) with `env` added,
 * resolving once it says it is ready.
 */
export function startService(entry: 'api' | 'worker', env: NodeJS.ProcessEnv, script?: string): Promise<Service> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script ?? path.join(here, '../main', `${entry}.js`)], {
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

type Entry = 'api' | 'worker';

/** The settings every benchmark's services get, and the address its API answers at. */
export type BenchEnv = {
  DATABASE_URL: string;
  QUEUE_PREFIX: string;
  PORT: string;
  LOG_LEVEL: string;
};

/**
 * A database (`trainer_<name>_<pid>`), queue prefix and port (`port` plus up to 89) of the benchmark's
 * own, so runs side by side do not meet; `extra` adds or replaces settings.
 */
export function benchEnv<Extra extends Record<string, string>>(
  name: string,
  port: number,
  extra?: Extra,
): BenchEnv & Extra {
  const suffix = `${name}_${process.pid}`;
  return {
    DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/trainer_${suffix}`,
    QUEUE_PREFIX: `trainer-${suffix.replaceAll('_', '-')}`,
    PORT: String(port + (process.pid % 90)),
    LOG_LEVEL: 'info',
    ...(extra as Extra),
  };
}

export const baseUrl = (env: BenchEnv) => `http://127.0.0.1:${env.PORT}`;

/** Drops the benchmark's database and queue keys, once its services have stopped. */
export async function removeBenchData(env: BenchEnv): Promise<void> {
  // Best effort, as for the queue keys.
  await dropDatabase(env.DATABASE_URL).catch(() => undefined);
  await deleteQueueKeys(env.QUEUE_PREFIX);
}

/**
 * Starts `entries` in order on `env`. `stop` ends them in the reverse order and removes the
 * benchmark's database and queue keys; a service that fails to start stops those started before it.
 */
export async function startServices<const Entries extends Entry>(
  env: BenchEnv,
  entries: Entries[],
): Promise<Record<Entries, Service> & { base: string; stop: () => Promise<void> }> {
  const started: Service[] = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
    await removeBenchData(env);
  };
  const services = {} as Record<Entries, Service>;
  try {
    for (const entry of entries) {
      services[entry] = await startService(entry, env);
      started.push(services[entry]);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ...services, base: baseUrl(env), stop };
}

/**
 * Starts the API process with its output discarded, for loads whose per-request logs would cost the
 * API (at LOG_LEVEL=warn it never says it listens): ready once it answers GET /health.
 */
export async function startQuietApi(env: BenchEnv): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(here, '../main/api.js')], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const base = baseUrl(env);
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const answered = await fetch(`${base}/health`).then(
      () => true,
      () => false,
    );
    if (answered)
      return {
        stop: () =>
          new Promise((done) =>
            child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM')),
          ),
      };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error('the API did not start');
}

/** POST /jobs with `spec`; resolves with the new job's id. */
export async function submitJob(base: string, spec: object): Promise<string> {
  const response = await fetch(`${base}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  if (response.status !== 201) throw new Error(`POST /jobs answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
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

/**
 * The artifact store the bench's services use (ARTIFACT_STORE and S3_* from this process's
 * environment, as the services it starts read them), for writing or reading artifacts in-process.
 */
export function benchArtifactStore(env: BenchEnv, prisma: PrismaClient): RoutedArtifactStore {
  return createArtifactStore(loadConfig({ ...process.env, ...env }), prisma);
}
