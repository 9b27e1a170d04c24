import { afterEach, describe, expect, it } from 'vitest';
import type { StepLoss } from '../../src/training/train.js';
import type { Checkpoint } from '../../src/training/train.js';
import { createTrainingPool, type TrainingPool } from '../../src/worker/training-pool.js';
import { parsedSmallSpec } from '../helpers/specs.js';

// Dense jobs big enough to be lent a thread (784-256-10, batch 64): a long one, and a short one
// that arrives while the long one trains.
const layers = [
  { type: 'dense' as const, units: 256, activation: 'relu' as const },
  { type: 'dense' as const, units: 10 },
];
const longSpec = parsedSmallSpec({ model: { layers }, trainSamples: 12_800, testSamples: 200, epochs: 3, seed: 3 });
const shortSpec = parsedSmallSpec({
  model: { layers },
  trainSamples: 2000,
  testSamples: 200,
  epochs: 2,
  optimizer: 'adam',
  learningRate: 0.001,
});

interface Seen {
  steps: StepLoss[];
  last?: Checkpoint;
}

function recorder(onSteps: () => void = () => undefined) {
  const seen: Seen = { steps: [] };
  const listener = {
    onSteps: (steps: StepLoss[]) => {
      seen.steps.push(...steps);
      onSteps();
    },
    onEpoch: () => undefined,
    onModel: () => undefined,
    onCheckpoint: (checkpoint: Checkpoint) => {
      seen.last = checkpoint;
    },
  };
  return { seen, listener };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const pools: TrainingPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

/**
 * The long job, and the short one started once the long one's first steps are in; the threads
 * lent while each ran alone, sampled at each report of steps.
 */
async function bothJobs(lendIdleThreads: boolean) {
  const pool = createTrainingPool({ size: 2, backend: 'wasm', lendIdleThreads, maxThreadHeapBytes: 2 ** 31 });
  pools.push(pool);
  await pool.ready();
  const lentWhileAlone: number[] = [];
  let shortStarted = false;
  const long = recorder(() => {
    if (!shortStarted) lentWhileAlone.push(pool.lentThreads());
  });
  const short = recorder();
  const longRun = await pool.run('long', longSpec, long.listener);
  await until(() => long.seen.steps.length > 0, 'the long job has reported steps');
  shortStarted = true;
  const shortRun = await pool.run('short', shortSpec, short.listener);
  const lentWithBoth = pool.lentThreads();
  const outcomes = await Promise.all([longRun.result, shortRun.result]);
  return { outcomes, long: long.seen, short: short.seen, lentWhileAlone, lentWithBoth };
}

const weightsOf = (seen: Seen) => seen.last?.weights.map((tensor) => Array.from(tensor.values));

describe('lending idle training threads', () => {
  it('lends the idle thread to a lone dense job, takes it back for a second job, and changes no result', async () => {
    const lending = await bothJobs(true);
    const alone = await bothJobs(false);
    for (const run of [lending, alone])
      expect(run.outcomes.map((outcome) => outcome.outcome)).toEqual(['completed', 'completed']);
    // The long job had the idle thread while alone, and gave it back when the short one started.
    expect(lending.lentWhileAlone).toContain(1);
    expect(lending.lentWithBoth).toBe(0);
    expect(alone.lentWhileAlone.every((lent) => lent === 0)).toBe(true);
    expect(lending.long.steps.length).toBe(600);
    expect(lending.long.steps).toEqual(alone.long.steps);
    expect(lending.short.steps).toEqual(alone.short.steps);
    expect(weightsOf(lending.long)).toEqual(weightsOf(alone.long));
    expect(weightsOf(lending.short)).toEqual(weightsOf(alone.short));
  });

  it('replaces a thread whose heap grew past the limit while it helped, as one that trained a job', async () => {
    // Every heap is past one byte: without the check on its return, the helper would stay.
    const pool = createTrainingPool({ size: 2, backend: 'wasm', lendIdleThreads: true, maxThreadHeapBytes: 1 });
    pools.push(pool);
    await pool.ready();
    const before = pool.threadIds();
    expect(before).toHaveLength(2);
    const lent: number[] = [];
    const job = recorder(() => lent.push(pool.lentThreads()));
    const run = await pool.run('long', longSpec, job.listener);
    expect((await run.result).outcome).toBe('completed');
    expect(lent).toContain(1);
    // The helper leaves once the job has ended, and is replaced when it says so: both threads are new.
    const renewed = () => pool.threadIds().length === 2 && pool.threadIds().every((id) => !before.includes(id));
    await until(renewed, 'both threads are new ones');
    expect(await pool.ready()).toBe('wasm');
  });
});
