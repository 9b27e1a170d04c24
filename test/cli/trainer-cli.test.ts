import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTrainerClient, unwrap, type Job, type TrainerClient } from '@trainer/client';
import { parquetReadObjects } from 'hyparquet';
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { jsonLines, runCli, trainerBin } from '../helpers/cli.js';
import { freePort } from '../helpers/own-services.js';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The `trainer` command line run as a child process, against an API and a worker process.
describe('the trainer command line', () => {
  let stack: Stack;
  let url: string;
  let trainer: TrainerClient;
  let folder: string;
  let completed: Job;
  const cli = (...args: string[]) => runCli(args, { TRAINER_URL: url });
  const specFile = async (name: string, spec: unknown) => {
    const file = path.join(folder, name);
    await writeFile(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
    return file;
  };

  beforeAll(async () => {
    stack = await startStack('trainer_cli');
    url = stack.api.address;
    trainer = createTrainerClient({ baseUrl: url, WebSocket });
    folder = await mkdtemp(path.join(tmpdir(), 'trainer-cli-'));
  });
  afterAll(async () => {
    await stack?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('submits a job and follows it to completion as JSON lines, exit 0', async () => {
    const file = await specFile('small.json', smallSpec({ name: 'cli small', trainSamples: 1000, epochs: 2 }));
    const run = await cli('--json', 'submit', file, '--follow');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines[0]).toMatchObject({ type: 'submitted', job: { name: 'cli small', status: 'queued' } });
    const summary = lines.at(-1) as { type: string; job: Job };
    expect(summary).toMatchObject({ type: 'summary', job: { status: 'completed' } });
    expect(lines.filter((line) => line.type === 'epoch').map((line) => line.epoch)).toEqual([1, 2]);
    const steps = lines.flatMap((line) => (line.type === 'steps' ? (line.steps as { step: number }[]) : []));
    expect(steps.map((step) => step.step)).toEqual(
      Array.from({ length: summary.job.progress.totalSteps }, (_, index) => index + 1),
    );
    expect(lines.filter((line) => line.type === 'status').at(-1)).toMatchObject({ status: 'completed' });
    completed = summary.job;
  });

  it('refuses a spec the server rejects with exit 2, naming the file and each bad field', async () => {
    const file = await specFile('bad.json', smallSpec({ learningRate: -1, batchSize: 0 }));
    const run = await cli('submit', file);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`${file}: learningRate: .+`));
    expect(run.stderr).toMatch(new RegExp(`${file}: batchSize: .+`));
    expect(run.stderr).not.toMatch(/\bat .+\.js:\d+/);
  });

  it('refuses a spec file that is not JSON with exit 2, naming the file and where it breaks', async () => {
    const file = await specFile('broken.json', '{\n  "name": "x",\n  "epochs": 2,,\n}');
    const run = await cli('submit', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file} is not valid JSON at line 3`);
    expect((await cli('submit', path.join(folder, 'missing.json'))).stderr).toMatch(
      /cannot read .*missing\.json: no such file/,
    );
  });

  it('follows a job that fails to its end and exits 1 with the reason', async () => {
    const file = await specFile(
      'diverging.json',
      smallSpec({
        name: 'diverging',
        learningRate: 10,
        model: {
          layers: [
            { type: 'dense', units: 256, activation: 'relu' },
            { type: 'dense', units: 256, activation: 'relu' },
            { type: 'dense', units: 10 },
          ],
        },
      }),
    );
    const run = await cli('submit', file, '--follow');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/failed: training diverged: the loss became (NaN|Infinity|-Infinity) at step \d+/);
    expect(run.stdout).toMatch(/diverging failed/);
  });

  it('exports the history as CSV, JSON and Parquet, equal step for step to GET /jobs/:id/history', async () => {
    const history = await unwrap(trainer.api.GET('/jobs/{id}/history', { params: { path: { id: completed.id } } }));
    expect(history.steps.length).toBe(completed.progress.totalSteps);

    const csv = await cli('export', completed.id);
    expect(csv.code).toBe(0);
    const [header, ...rows] = csv.stdout.trimEnd().split('\r\n');
    expect(header).toBe('step,epoch,loss');
    expect(
      rows.map((row) => {
        const [step, epoch, loss] = row.split(',').map(Number);
        return { step, epoch, loss };
      }),
    ).toEqual(history.steps);

    const json = await cli('export', completed.id, '--format', 'json');
    expect((JSON.parse(json.stdout) as typeof history).steps).toEqual(history.steps);

    const out = path.join(folder, 'history.parquet');
    const parquet = await cli('export', completed.id, '--format', 'parquet', '--out', out);
    expect(parquet.code).toBe(0);
    const bytes = await readFile(out);
    expect(await parquetReadObjects({ file: new Uint8Array(bytes).buffer })).toEqual(history.steps);
  });

  it('shows, lists and compares runs, and an unknown id is exit 2 with a clear message', async () => {
    const show = await cli('--json', 'show', completed.id);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: completed.id, status: 'completed' });
    const runs = await cli('runs', '--status', 'completed');
    expect(runs.code).toBe(0);
    expect(runs.stdout).toContain(completed.id);
    expect(runs.stdout).toContain('cli small');
    const listed = JSON.parse((await cli('--json', 'runs')).stdout) as { runs: { id: string }[] };
    const svg = path.join(folder, 'loss.svg');
    const compared = await cli('compare', ...listed.runs.slice(0, 2).map((run) => run.id), '--svg', svg);
    expect(compared.code).toBe(0);
    expect(compared.stdout).toMatch(/hyperparameters that differ: /);
    expect(await readFile(svg, 'utf8')).toMatch(/^<svg/);
    const unknown = await cli('show', '00000000-0000-4000-8000-000000000000');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^trainer: .*not_found/m);
    const badSort = await cli('runs', '--sort', 'bogus');
    expect(badSort.code).toBe(2);
    expect(badSort.stderr).toMatch(/sort: /);
  });

  it('uploads a CSV dataset, lists it and removes it', async () => {
    const rows = Array.from({ length: 40 }, (_, index) => `${index % 2},${index % 2 ? 5 + (index % 3) : index % 3},1`);
    const file = await specFile('train.csv', `label,a,b\n${rows.join('\n')}\n`);
    const upload = await cli('--json', 'datasets', 'upload', 'cli-tiny', file, '--test-fraction', '0.25');
    expect(upload.stderr).toBe('');
    expect(upload.code).toBe(0);
    expect(JSON.parse(upload.stdout)).toMatchObject({ name: 'cli-tiny', trainSize: 30, testSize: 10, numClasses: 2 });
    expect((await cli('datasets', 'ls')).stdout).toMatch(/cli-tiny .* 30 .* 10 /);
    const again = await cli('datasets', 'upload', 'cli-tiny', file);
    expect(again.code).toBe(2);
    expect((await cli('datasets', 'rm', 'cli-tiny')).code).toBe(0);
    expect((await cli('datasets', 'ls')).stdout).not.toContain('cli-tiny');
  });

  it('submits a sweep and follows it to its end with its leaderboard', async () => {
    const file = await specFile('sweep.json', {
      name: 'cli sweep',
      base: smallSpec({ trainSamples: 300, testSamples: 100, epochs: 1 }),
      method: 'grid',
      parameters: { learningRate: { values: [0.05, 0.1] } },
      objective: { metric: 'testAccuracy', goal: 'maximize' },
    });
    const run = await cli('sweep', 'submit', file, '--follow');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^run [01] started/m);
    expect(run.stdout).toMatch(/^sweep completed$/m);
    expect(run.stdout).toMatch(/cli sweep completed: 2 runs/);
    expect(run.stdout.match(/│ [12] +│ [0-9a-f-]{36} │ completed │/g)).toHaveLength(2);
  });

  it('creates, lists and revokes API keys for an admin, and prints the key only when created', async () => {
    const created = await cli('--json', 'keys', 'create', '--owner', 'alice', '--role', 'member', '--name', 'laptop');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string };
    expect(key.key.length).toBeGreaterThan(20);
    const listed = await cli('keys', 'ls');
    expect(listed.stdout).toMatch(new RegExp(`${key.id} .*alice .*member .*laptop`));
    expect(listed.stdout).not.toContain(key.key);
    const badRole = await cli('keys', 'create', '--owner', 'alice', '--role', 'boss', '--name', 'x');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/role: /);
    expect((await cli('keys', 'revoke', key.id)).code).toBe(0);
    expect((await cli('keys', 'create', '--owner', 'alice')).code).toBe(2);
  });

  it('says the server is unreachable with exit 3, never a stack trace', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const run = await runCli(['runs'], { TRAINER_URL: closed });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/could not reach the trainer API/);
    expect(run.stderr).not.toMatch(/\bat .+\.js:\d+/);
    expect((await runCli(['--url', closed, 'follow', completed.id])).code).toBe(3);
  });

  it('prints plain lines without colours or bars when piped', async () => {
    const run = await cli('follow', completed.id);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain('\u001b[');
    expect(run.stdout).toMatch(/^epoch 1\/2 {2}test accuracy \d+\.\d% {2}test loss \d\.\d{4}/m);
    expect(run.stdout).toMatch(/^epoch 2\/2 /m);
    expect(run.stdout).toMatch(/cli small completed/);
  });

  /** `trainer submit FILE --follow …` in a pseudo-terminal, once its progress bar is drawn: what it printed, and its exit. */
  async function followInTerminal(file: string, extra: string[] = []) {
    const terminal = spawnPty(process.execPath, [trainerBin, 'submit', file, '--follow', ...extra], {
      cols: 160,
      rows: 30,
      env: { ...process.env, TRAINER_URL: url, NO_COLOR: '' },
    });
    let screen = '';
    terminal.onData((data) => (screen += data));
    const exited = new Promise<number>((resolve) => terminal.onExit(({ exitCode }) => resolve(exitCode)));
    const bar =
      /epoch [12]\/4 [█░]{24} \d+\/1250 steps \| loss \d\.\d{4} \(smoothed \d\.\d{4}\) \| [\d,]+ samples\/s \| \d\d:\d\d left/;
    const deadline = Date.now() + 60_000;
    while (!bar.test(screen)) {
      if (Date.now() > deadline) throw new Error(`no progress bar drawn:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The id is printed in bold.
    const id = /submitted \W*\[1m([0-9a-f-]{36})/.exec(screen)?.[1] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    return { id, screen: () => screen, exited, interrupt: () => terminal.write('\u0003') };
  }

  it('draws a progress bar in a terminal, and Ctrl-C detaches, says how to attach again and exits 130', async () => {
    const file = await specFile(
      'longer.json',
      smallSpec({ name: 'in a terminal', trainSamples: 20_000, batchSize: 16, epochs: 4 }),
    );
    const following = await followInTerminal(file);
    following.interrupt();
    expect(await following.exited).toBe(130);
    expect(following.screen()).toContain(`Attach again with: trainer follow ${following.id}`);
    // Detached, not cancelled: the job goes on to the end.
    const attached = await cli('follow', following.id);
    expect(attached.code).toBe(0);
    expect(attached.stdout).toMatch(/in a terminal completed/);
  });

  it('cancels the job on Ctrl-C with --cancel-on-interrupt', async () => {
    const file = await specFile(
      'cancelled.json',
      smallSpec({ name: 'cancelled in a terminal', trainSamples: 20_000, batchSize: 16, epochs: 4 }),
    );
    const following = await followInTerminal(file, ['--cancel-on-interrupt']);
    following.interrupt();
    expect(await following.exited).toBe(130);
    expect(following.screen()).toContain(`cancelled ${following.id}`);
    const attached = await cli('follow', following.id);
    expect(attached.code).toBe(1);
    expect(attached.stdout).toMatch(/cancelled in a terminal cancelled/);
  });
});
