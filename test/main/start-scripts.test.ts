import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { queuePrefix, testConfig } from '../helpers/env.js';
import { freePort } from '../helpers/own-services.js';
import { envValueOf } from '../helpers/processes.js';

// `npm run api` and `npm run worker` as a newcomer runs them: in a checkout whose sources changed
// since its last build, an API and two workers started at the same moment (two terminals, a process
// manager). One builds, the others wait for it; all three come up; a worker never builds or touches
// the dashboard. (The copy starts from this checkout's build, so tsc's incremental build keeps the
// rebuild short; its files' new times still make every part stale.)

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const copied = [
  'src',
  'web',
  'packages',
  'scripts',
  'prisma',
  'package.json',
  'package-lock.json',
  'prisma.config.ts',
  'tsconfig.json',
];

interface Started {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function npmRun(directory: string, script: string, env: NodeJS.ProcessEnv): Started {
  // A process group of its own, so stopping it stops npm and the node process it runs.
  const child = spawn('npm', ['run', '-s', script], {
    cwd: directory,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => log,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(log)) {
        if (child.exitCode !== null) throw new Error(`npm run ${script} exited with ${child.exitCode}:\n${log}`);
        if (Date.now() > deadline) throw new Error(`npm run ${script} never logged ${pattern}:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.pid === undefined) return;
      const group = -child.pid;
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(group, name);
        } catch {
          // The group is gone already.
        }
      };
      signal('SIGTERM');
      const killLater = setTimeout(() => signal('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killLater);
      signal('SIGKILL');
    },
  };
}

/** The processes whose working directory is `directory` or below it (Linux). */
function processesIn(directory: string): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      return fs.readlinkSync(`/proc/${entry}/cwd`).startsWith(directory) ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

/** Each file under `directory` with its modification time: what a build would change. */
function listing(directory: string): string[] {
  return fs
    .readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const full = path.join(entry.parentPath, entry.name);
      return `${path.relative(directory, full)} ${fs.statSync(full).mtimeMs}`;
    })
    .sort();
}

describe('the start scripts, started together in a fresh checkout', () => {
  let database: TestDatabase;
  let checkout: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  const started: Started[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('start_scripts');
    checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-checkout-'));
    for (const entry of copied)
      fs.cpSync(path.join(root, entry), path.join(checkout, entry), {
        recursive: true,
        filter: (source) => !/[/\\]node_modules$/.test(source),
      });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(checkout, 'node_modules'));
    port = await freePort();
    const config = testConfig(database.url, { PORT: String(port), QUEUE_PREFIX: queuePrefix('start_scripts') });
    // Without the npm_* variables of the npm that started the tests: npm_config_local_prefix would
    // make `npm run` in the copy run this checkout's scripts instead.
    env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|INIT_CWD$)/i.test(key)));
    for (const [key, value] of Object.entries(config)) env[key] = envValueOf(value);
    Object.assign(env, { LOG_LEVEL: 'info', NO_COLOR: '1' });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(started.map((process) => process.stop()));
    // Whatever still runs in the copy (a process that left its group) goes too.
    if (checkout) for (const pid of processesIn(checkout)) process.kill(pid, 'SIGKILL');
    await database?.drop();
    if (checkout) fs.rmSync(checkout, { recursive: true, force: true });
  }, 60_000);

  it('brings up an API and two workers started at the same moment, building once', async () => {
    fs.appendFileSync(path.join(checkout, 'src/logger.ts'), '\n');
    fs.appendFileSync(path.join(checkout, 'web/src/main.tsx'), '\n');
    const api = npmRun(checkout, 'api', env);
    const workers = [npmRun(checkout, 'worker', env), npmRun(checkout, 'worker', env)];
    started.push(api, ...workers);
    await Promise.all([
      api.waitFor(/api listening/, 200_000),
      ...workers.map((worker) => worker.waitFor(/worker waiting for jobs/, 200_000)),
    ]);
    // One of them built; the others waited for it rather than building over it.
    const waited = started.filter((process) => process.output().includes('another process is building'));
    expect(waited.length).toBeGreaterThanOrEqual(1);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${port}${script}`)).status).toBe(200);
    expect(fs.existsSync(path.join(checkout, '.build-lock'))).toBe(false);
  }, 240_000);

  it('starts one more worker after a source changed without touching the dashboard the API serves', async () => {
    const dashboard = listing(path.join(checkout, 'web-dist'));
    const source = path.join(checkout, 'src/config.ts');
    fs.appendFileSync(source, '\n');
    const worker = npmRun(checkout, 'worker', env);
    started.push(worker);
    await worker.waitFor(/worker waiting for jobs/, 200_000);
    expect(listing(path.join(checkout, 'web-dist'))).toEqual(dashboard);
    // It did rebuild the server, for the source that changed.
    expect(fs.statSync(path.join(checkout, 'dist/config.js')).mtimeMs).toBeGreaterThan(fs.statSync(source).mtimeMs);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
  }, 240_000);
});
