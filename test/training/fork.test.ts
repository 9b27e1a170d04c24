import { beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '../../src/domain/job-spec.js';
import { selectBackend } from '../../src/training/backend.js';
import { evaluateCheckpoint } from '../../src/training/checkpoint-evaluation.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { train, type Checkpoint, type EpochMetrics, type StepLoss } from '../../src/training/train.js';
import { smallSpec } from '../helpers/specs.js';

function spec(overrides: Partial<JobSpecInput> = {}): JobSpec {
  const parsed = parseJobSpec(smallSpec({ trainSamples: 320, testSamples: 100, ...overrides }), {
    maxParameters: 20_000_000,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

async function run(jobSpec: JobSpec, dataset: Dataset, from?: Checkpoint) {
  const steps: StepLoss[] = [];
  const epochs: EpochMetrics[] = [];
  const checkpoints: Checkpoint[] = [];
  await train(
    jobSpec,
    dataset,
    {
      onSteps: (batch) => steps.push(...batch),
      onEpoch: (metrics) => epochs.push(metrics),
      onCheckpoint: (checkpoint) => checkpoints.push(checkpoint),
    },
    {},
    from,
  );
  const kept = checkpoints.filter((checkpoint) => checkpoint.atEpochEnd);
  return { steps, epochs, kept };
}

// Wall-clock figures differ between any two runs; everything else an epoch measures must not.
const measured = ({ epoch, testAccuracy, testLoss, trainLoss }: EpochMetrics) => ({
  epoch,
  testAccuracy,
  testLoss,
  trainLoss,
});

describe('training from a kept checkpoint (fork and continue)', () => {
  let dataset: Dataset;
  beforeAll(async () => {
    await selectBackend('auto');
    dataset = await loadDataset('mnist');
  });

  it('keeps a checkpoint at the end of every epoch, the last one too, each at a batch boundary', async () => {
    const parent = await run(spec({ epochs: 3, optimizer: 'adam', learningRate: 0.001 }), dataset);
    expect(parent.kept.map(({ epoch, step, batch }) => ({ epoch, step, batch }))).toEqual([
      { epoch: 1, step: 5, batch: 0 },
      { epoch: 2, step: 10, batch: 0 },
      { epoch: 3, step: 15, batch: 0 },
    ]);
  });

  it('repeats the parent bit for bit after the fork point when nothing is changed', async () => {
    const jobSpec = spec({ epochs: 3, optimizer: 'adam', learningRate: 0.001 });
    const parent = await run(jobSpec, dataset);
    const atEpoch1 = parent.kept[0] as Checkpoint;
    const child = await run(jobSpec, dataset, atEpoch1);
    expect(child.steps).toEqual(parent.steps.filter((step) => step.step > atEpoch1.step));
    expect(child.steps[0]?.step).toBe(atEpoch1.step + 1);
    expect(child.epochs.map(measured)).toEqual(parent.epochs.slice(1).map(measured));
  });

  it('continues from the final weights: the same test loss before its first step, then as a longer run would', async () => {
    const twoEpochs = await run(spec({ epochs: 2, optimizer: 'adam', learningRate: 0.001 }), dataset);
    const final = twoEpochs.kept.at(-1) as Checkpoint;
    const longer = spec({ epochs: 4, optimizer: 'adam', learningRate: 0.001 });
    const before = evaluateCheckpoint(longer, dataset, final);
    expect(before.testLoss).toBe(twoEpochs.epochs[1]?.testLoss);
    expect(before.testAccuracy).toBe(twoEpochs.epochs[1]?.testAccuracy);
    const continued = await run(longer, dataset, final);
    const straight = await run(longer, dataset);
    expect(continued.epochs.map((epoch) => epoch.epoch)).toEqual([3, 4]);
    expect(continued.epochs.map(measured)).toEqual(straight.epochs.slice(2).map(measured));
  });

  it('uses a new learning rate with the optimizer state it was given, which changes what it learns', async () => {
    const jobSpec = spec({ epochs: 2, optimizer: 'adam', learningRate: 0.001 });
    const parent = await run(jobSpec, dataset);
    const atEpoch1 = parent.kept[0] as Checkpoint;
    const faster = spec({ epochs: 2, optimizer: 'adam', learningRate: 0.003 });
    const withSlots = await run(faster, dataset, atEpoch1);
    const withoutSlots = await run(faster, dataset, { ...atEpoch1, optimizer: [] });
    const afterFork = parent.steps.filter((step) => step.step > atEpoch1.step);
    // The first step's loss is measured before the update, on the same weights and batch.
    expect(withSlots.steps[0]).toEqual(afterFork[0]);
    expect(withSlots.steps[1]?.loss).not.toBe(afterFork[1]?.loss);
    expect(withoutSlots.steps[1]?.loss).not.toBe(withSlots.steps[1]?.loss);
  });

  it('trains the epochs after the fork with another batch size, numbering steps on from the fork point', async () => {
    const parent = await run(spec({ epochs: 2, batchSize: 64 }), dataset);
    const atEpoch1 = parent.kept[0] as Checkpoint;
    const child = await run(spec({ epochs: 3, batchSize: 32 }), dataset, atEpoch1);
    expect(child.epochs.map((epoch) => epoch.epoch)).toEqual([2, 3]);
    expect(child.steps.map((step) => step.step)).toEqual(Array.from({ length: 20 }, (_, index) => 6 + index));
    expect(child.steps.slice(0, 10).every((step) => step.epoch === 2)).toBe(true);
    expect(child.kept.map(({ epoch, step }) => ({ epoch, step }))).toEqual([
      { epoch: 2, step: 15 },
      { epoch: 3, step: 25 },
    ]);
  });
});
