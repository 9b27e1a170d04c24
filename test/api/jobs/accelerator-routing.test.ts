import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import type { HealthReport } from '../../../src/api/health/schemas.js';
import type { JobView } from '../../../src/api/jobs/schemas.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createTrainingQueues, type TrainingQueues } from '../../../src/queue/training-queue.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { reconcileQueue } from '../../../src/worker/reconciler.js';
import type { ChildService } from '../../helpers/processes.js';
import { spawnService } from '../../helpers/processes.js';
import { redisUrl, silentLogger } from '../../helpers/env.js';
import { smallSpec } from '../../helpers/specs.js';
import { startStack, type Stack } from '../../helpers/stack.js';

const terminal = ['completed', 'failed', 'cancelled'];

describe('jobs that ask for a GPU go to the queue only GPU workers take', () => {
  let stack: Stack;
  let redis: Redis;
  let queues: TrainingQueues;
  let gpuWorker: ChildService | undefined;

  const submit = (body: unknown) =>
    fetch(`${stack.api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const job = async (id: string) => (await (await fetch(`${stack.api.address}/jobs/${id}`)).json()) as JobView;
  async function waitForStatus(id: string, statuses: string[], timeoutMs = 60_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await job(id);
      if (statuses.includes(view.status)) return view;
      if (Date.now() > deadline) throw new Error(`job ${id} is still ${view.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    // One CPU worker (the stack's) and, later in the file, one that says it trains on a GPU (on
    // WebAssembly here: what is tested is where jobs go, not the device).
    stack = await startStack('accelerators');
    redis = createRedis(redisUrl, 'worker');
    queues = createTrainingQueues(redis, stack.config.QUEUE_PREFIX, stack.config.TRAINING_QUEUE_GPU);
  });
  afterAll(async () => {
    await gpuWorker?.stop();
    await queues.close();
    redis.disconnect();
    await stack.stop();
  });

  it('refuses a GPU job while no GPU worker is registered, naming the field', async () => {
    const refused = await submit(smallSpec({ accelerator: 'gpu' }));
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as ErrorBody;
    expect(body.code).toBe('invalid_spec');
    expect(body.issues).toEqual([expect.objectContaining({ path: 'accelerator' })]);
    expect(body.issues?.[0]?.message).toMatch(/no GPU worker is registered.*waitForAccelerator/);
    expect(await database().job.count()).toBe(0);
  });

  it('refuses a sweep whose runs ask for a GPU while none is registered, and stores none', async () => {
    const sweep = (base: object) =>
      fetch(`${stack.api.address}/sweeps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'gpu-sweep',
          base,
          method: 'grid',
          parameters: { learningRate: { values: [0.1, 0.2] } },
          objective: { metric: 'testAccuracy', goal: 'maximize' },
        }),
      });
    const refused = await sweep(smallSpec({ accelerator: 'gpu' }));
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as ErrorBody;
    expect(body.code).toBe('invalid_sweep');
    expect(body.issues).toEqual([expect.objectContaining({ path: 'base.accelerator' })]);
    expect(await database().sweep.count()).toBe(0);
    // May wait: stored (and left unlaunched: the test's stack drives no GPU runs yet).
    const waiting = await sweep(smallSpec({ accelerator: 'gpu', waitForAccelerator: true, epochs: 1 }));
    expect(waiting.status).toBe(201);
    await fetch(`${stack.api.address}/sweeps/${((await waiting.json()) as { id: string }).id}/cancel`, {
      method: 'POST',
    });
  });

  it('refuses an accelerator it does not know', async () => {
    const refused = await submit(smallSpec({ accelerator: 'tpu' as 'gpu' }));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as ErrorBody).issues?.[0]?.path).toBe('accelerator');
  });

  it('queues a GPU job that may wait in the GPU queue, where CPU workers never take it', async () => {
    const created = (await (
      await submit(smallSpec({ accelerator: 'gpu', waitForAccelerator: true }))
    ).json()) as JobView;
    expect(created.spec).toMatchObject({ accelerator: 'gpu', waitForAccelerator: true });
    expect(await queues.gpu.getJobState(created.id)).toBe('waiting');
    expect(await queues.cpu.getJobState(created.id)).toBe('unknown');
    // A CPU job submitted after it trains to the end while the GPU job waits.
    const cpu = (await (await submit(smallSpec())).json()) as JobView;
    expect((await waitForStatus(cpu.id, terminal)).status).toBe('completed');
    expect((await job(created.id)).status).toBe('queued');
    expect(await queues.gpu.getJobState(created.id)).toBe('waiting');
  });

  it('puts a GPU job the queue lost back in the GPU queue', async () => {
    const created = (await (
      await submit(smallSpec({ accelerator: 'gpu', waitForAccelerator: true }))
    ).json()) as JobView;
    await queues.gpu.remove(created.id);
    expect(await queues.gpu.getJobState(created.id)).toBe('unknown');
    const requeued = await reconcileQueue(createJobsRepository(database()), queues, silentLogger());
    expect(requeued).toContain(created.id);
    expect(await queues.gpu.getJobState(created.id)).toBe('waiting');
    expect(await queues.cpu.getJobState(created.id)).toBe('unknown');
  });

  it('a GPU worker registers as one, takes the waiting GPU jobs, and GPU jobs are accepted from then on', async () => {
    gpuWorker = spawnService('worker', { ...stack.config, WORKER_ACCELERATOR: 'gpu' });
    await gpuWorker.waitFor(/worker waiting for jobs/);
    const deadline = Date.now() + 20_000;
    let health: HealthReport;
    do {
      health = (await (await fetch(`${stack.api.address}/health`)).json()) as HealthReport;
      if (health.workers.some((worker) => worker.accelerator === 'gpu')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } while (Date.now() < deadline);
    expect(health.workers.map((worker) => worker.accelerator ?? 'cpu').sort()).toEqual(['cpu', 'gpu']);

    const accepted = await submit(smallSpec({ accelerator: 'gpu' }));
    expect(accepted.status).toBe(201);
    const created = (await accepted.json()) as JobView;
    const finished = await waitForStatus(created.id, terminal);
    expect(finished.status).toBe('completed');
    // Every GPU job, the ones that waited included, was trained by the GPU worker.
    const gpuJobs = await database().job.findMany({
      where: { sweepId: null, spec: { path: ['accelerator'], equals: 'gpu' } },
    });
    expect(gpuJobs).toHaveLength(3);
    for (const row of gpuJobs) expect((await waitForStatus(row.id, terminal)).status).toBe('completed');
    expect(gpuWorker.output()).toContain(created.id);
    expect(stack.worker.output()).not.toContain(created.id);
  });

  function database() {
    return stack.database.prisma;
  }
});
