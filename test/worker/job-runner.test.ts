import { afterEach, describe, expect, it, vi } from 'vitest';
import { createJobRunner, type JobRunnerDeps } from '../../src/worker/job-runner.js';
import { createEvaluationAccumulator } from '../../src/training/evaluation.js';
import type { EpochModel } from '../../src/worker/thread-protocol.js';
import { silentLogger } from '../helpers/env.js';
import {
  eventLog,
  fakeJob,
  fakeModelStore,
  fakePool,
  fakeStore,
  jobId,
  statusesOf,
  type DrivenTraining,
} from './fakes.js';

const stopped = { outcome: 'stopped', steps: 7, numTensors: 0 } as const;
const completed = { outcome: 'completed', steps: 64, numTensors: 0 } as const;

function setup(job = fakeJob(), overrides: Partial<JobRunnerDeps> = {}) {
  const { store, writes, state } = fakeStore(job);
  const models = fakeModelStore(writes);
  const { pool, started } = fakePool();
  const { events, publish } = eventLog();
  const runner = createJobRunner({
    jobs: store,
    models: models.store,
    pool,
    logger: silentLogger(),
    publish,
    steps: { flushMs: 60_000, flushCount: 1000 },
    maxAttempts: 3,
    maxTrainingMs: 3_600_000,
    checkpointEverySteps: 0,
    leaseMs: 30_000,
    storeRetryMs: 0,
    ...overrides,
  });
  runners.push(runner);
  return { runner, store, models, writes, state, started, events };
}
const runners: ReturnType<typeof createJobRunner>[] = [];
afterEach(() => {
  for (const runner of runners.splice(0)) runner.close();
  vi.useRealTimers();
});

describe('the job runner', () => {
  it('delivers a cancel to the training it holds at once, and ends the job cancelled', async () => {
    const { runner, started, events, writes } = setup();
    const running = runner.run(jobId);
    const training = await started();
    training.listener.onSteps([{ step: 1, epoch: 1, loss: 2 }]);
    expect(runner.cancel(jobId)).toBe(true);
    expect(training.stops).toEqual(['stop']);
    training.end(stopped);
    await expect(running).resolves.toBe('finished');
    expect(writes).toEqual(['steps 1-1', 'finish cancelled']);
    expect(statusesOf(events)).toEqual(['running', 'cancelled']);
  });

  it('ignores a cancel for a job it does not hold', async () => {
    const { runner, started } = setup();
    expect(runner.cancel(jobId)).toBe(false);
    const running = runner.run(jobId);
    const training = await started();
    expect(runner.cancel('00000000-0000-4000-8000-00000000ffff')).toBe(false);
    expect(training.stops).toEqual([]);
    training.end(completed);
    await running;
  });

  it('applies a cancel that arrives between the claim and the start of training as soon as training starts', async () => {
    const { runner, store, started } = setup(fakeJob({ attempts: 2 }));
    let loaded: () => void = () => undefined;
    store.loadCheckpoint.mockImplementation(() => new Promise((resolve) => (loaded = () => resolve(null))));
    const running = runner.run(jobId);
    await vi.waitFor(() => expect(store.loadCheckpoint).toHaveBeenCalled());
    expect(runner.cancel(jobId)).toBe(true);
    loaded();
    const training = await started();
    expect(training.stops).toEqual(['stop']);
    training.end(stopped);
    await expect(running).resolves.toBe('finished');
  });

  it('announces the status the store wrote: cancelled when the cancel was committed before training completed', async () => {
    const { runner, started, events, state, store } = setup();
    const running = runner.run(jobId);
    const training = await started();
    state.cancelCommitted = true;
    training.end(completed);
    await running;
    expect(store.finish).toHaveBeenCalledWith(jobId, 'completed', undefined, expect.any(String));
    expect(events.at(-1)).toEqual({ type: 'status', jobId, status: 'cancelled', error: null });
  });

  it('finds a cancel by polling Postgres when no announcement arrives', async () => {
    const { runner, started, state } = setup(fakeJob(), { cancelPollMs: 20 });
    const running = runner.run(jobId);
    const training = await started();
    state.cancelCommitted = true;
    await vi.waitFor(() => expect(training.stops).toContain('stop'));
    training.end(stopped);
    await expect(running).resolves.toBe('finished');
  });

  it('hands a job back after a checkpoint when the worker stops, and takes no new one', async () => {
    const { runner, started, events, writes } = setup();
    const running = runner.run(jobId);
    const training = await started();
    runner.stopAll();
    expect(training.stops).toEqual(['checkpoint']);
    // A cancel after the shutdown does not turn the hand-back into a cancel.
    runner.cancel(jobId);
    expect(new Set(training.stops)).toEqual(new Set(['checkpoint']));
    training.end(stopped);
    await expect(running).resolves.toBe('handed-back');
    expect(writes).toEqual(['hand-back']);
    expect(statusesOf(events)).toEqual(['running', 'queued']);
    await expect(runner.run(jobId)).resolves.toBe('handed-back');
  });

  it('hands a job back, uncounted, when its training cannot start', async () => {
    const { runner, store, writes } = setup();
    store.loadCheckpoint.mockRejectedValue(new Error('unreachable'));
    const job = fakeJob({ attempts: 2 });
    store.claim.mockResolvedValue({ outcome: 'claimed', job });
    await expect(runner.run(jobId)).rejects.toThrow('unreachable');
    expect(writes).toEqual(['hand-back']);
  });

  it('puts a job whose training thread died back in the queue, counted as a crashed attempt', async () => {
    const { runner, store, writes, events, started } = setup(fakeJob({ attempts: 1 }));
    const training = started();
    const running = runner.run(jobId);
    (await training).end({ outcome: 'failed', code: 'helper_lost', message: 'helper died', numTensors: 0 });
    await expect(running).resolves.toBe('handed-back');
    expect(writes).toEqual(['hand-back']);
    expect(store.handBack).toHaveBeenCalledWith(jobId, expect.any(String), { crashed: true });
    expect(store.finish).not.toHaveBeenCalled();
    expect(statusesOf(events)).toEqual(['running', 'queued']);
  });

  it('fails a job whose workers crashed maxAttempts times, not counting hand-backs', async () => {
    const handedBack = setup(fakeJob({ attempts: 4, handedBack: 1 }));
    const training = handedBack.started();
    const running = handedBack.runner.run(jobId);
    (await training).end(completed);
    await expect(running).resolves.toBe('finished');
    expect(handedBack.writes).toEqual(['finish completed']);

    const crashed = setup(fakeJob({ attempts: 4 }));
    await expect(crashed.runner.run(jobId)).resolves.toBe('finished');
    expect(crashed.store.finish).toHaveBeenCalledWith(
      jobId,
      'failed',
      expect.stringMatching(/^gave up after 3 attempts/),
      expect.any(String),
    );
  });

  it('stops writing and abandons the attempt when another worker takes the lease', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { runner, started, state, writes } = setup(fakeJob(), { leaseMs: 3000 });
    const running = runner.run(jobId);
    const training = await started();
    state.leaseHeld = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(training.stops).toEqual(['stop']);
    training.listener.onSteps([{ step: 1, epoch: 1, loss: 2 }]);
    training.end(stopped);
    await expect(running).resolves.toBe('skipped');
    expect(writes).toEqual([]);
  });

  it('fails a job that trains past the time limit, counted from its first start', async () => {
    const startedAt = new Date(Date.now() - 950);
    const { runner, started, store } = setup(fakeJob({ startedAt }), { maxTrainingMs: 1000 });
    const running = runner.run(jobId);
    const training = await started();
    await vi.waitFor(() => expect(training.stops).toEqual(['stop']));
    training.end(stopped);
    await running;
    expect(store.finish).toHaveBeenCalledWith(
      jobId,
      'failed',
      'stopped after the maximum training time of 1 s (step 7)',
      expect.any(String),
    );
  });

  describe('trained models', () => {
    const metrics = (epoch: number, testAccuracy: number) => ({
      epoch,
      testAccuracy,
      testLoss: 1,
      trainLoss: 1,
      durationMs: 10,
      samplesPerSecond: 100,
    });
    const model = (epoch: number, testAccuracy: number): EpochModel => ({
      epoch,
      testAccuracy,
      modelJson: new Uint8Array([123, 125]),
      weights: new Uint8Array(8),
      tfjsVersion: '4.22.0',
    });
    const evaluation = () => {
      const accumulator = createEvaluationAccumulator(2);
      accumulator.add({ firstIndex: 0, trueLabels: [0, 1, 1], predictedLabels: [0, 1, 0], confidences: [1, 1, 0.9] });
      return accumulator.result();
    };
    const epoch = (training: DrivenTraining, number: number, testAccuracy: number) => {
      training.listener.onSteps([{ step: number, epoch: number, loss: 1 }]);
      training.listener.onEpoch(metrics(number, testAccuracy), evaluation());
      training.listener.onModel(model(number, testAccuracy));
    };

    it('stores every epoch’s model as final and as best when at least as good, after its metrics and before its checkpoint', async () => {
      const { runner, started, writes, events, models, store } = setup();
      const running = runner.run(jobId);
      const training = await started();
      epoch(training, 1, 0.8);
      training.listener.onCheckpoint({
        step: 1,
        epoch: 1,
        shuffleState: 1,
        epochLossSum: 0,
        weights: [],
        optimizer: [],
      });
      epoch(training, 2, 0.7);
      epoch(training, 3, 0.8);
      training.end(completed);
      await running;
      // Later steps may be written while earlier results are (the step writer runs ahead); the rest keep their order.
      expect(writes.indexOf('steps 1-1')).toBeLessThan(writes.indexOf('epoch 1'));
      expect(writes.filter((write) => !write.startsWith('steps'))).toEqual([
        'epoch 1',
        'artifact 1',
        'artifact 2',
        'model best 1',
        'model final 1',
        'checkpoint 1',
        'epoch 2',
        'artifact 3',
        'artifact 4',
        'model final 2',
        'epoch 3',
        'artifact 5',
        'artifact 6',
        // A tie with the best so far: the later epoch, here the final one, is the best.
        'model best 3',
        'model final 3',
        'finish completed',
      ]);
      expect(models.records.get('final')).toMatchObject({
        epoch: 3,
        testAccuracy: 0.8,
        inputShape: [28, 28, 1],
        preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
        classCount: 10,
        classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
        tfjsVersion: '4.22.0',
      });
      expect(models.records.get('best')?.weightsArtifactId).toBe(models.records.get('final')?.weightsArtifactId);
      expect(store.recordEpoch).toHaveBeenCalledWith(jobId, { ...metrics(1, 0.8), evaluation: evaluation() });
      const epochEvents = events.filter((event) => event.type === 'epoch');
      expect(epochEvents.map((event) => event.perClassAccuracy)).toEqual([
        [1, 0.5],
        [1, 0.5],
        [1, 0.5],
      ]);
    });

    it('keeps the best model of an earlier attempt unless a later epoch is at least as good', async () => {
      const { runner, started, writes, models } = setup(fakeJob({ attempts: 2 }));
      await models.store.saveModel({ ...(await bestOfEarlierAttempt()), version: 'best' });
      writes.length = 0;
      const running = runner.run(jobId);
      const training = await started();
      epoch(training, 2, 0.85);
      training.end(stopped);
      runner.cancel(jobId);
      await running;
      expect(writes).toEqual(['steps 2-2', 'epoch 2', 'artifact 1', 'artifact 2', 'model final 2', 'finish cancelled']);
      expect(models.records.get('best')).toMatchObject({ epoch: 1, testAccuracy: 0.9 });
    });

    it('keeps a failed job’s model of its last completed epoch, stored before the job ends', async () => {
      const { runner, started, writes, models } = setup();
      const running = runner.run(jobId);
      const training = await started();
      epoch(training, 1, 0.6);
      training.listener.onSteps([{ step: 2, epoch: 2, loss: Number.NaN }]);
      training.end({ outcome: 'failed', code: 'diverged', message: 'loss became NaN at step 2', numTensors: 0 });
      await running;
      expect(writes.filter((write) => write.startsWith('model') || write.startsWith('finish'))).toEqual([
        'model best 1',
        'model final 1',
        'finish failed',
      ]);
      expect(models.records.get('final')).toMatchObject({ epoch: 1, testAccuracy: 0.6 });
    });

    const bestOfEarlierAttempt = () =>
      Promise.resolve({
        jobId,
        epoch: 1,
        modelJsonArtifactId: 'a',
        weightsArtifactId: 'b',
        tfjsVersion: '4.22.0',
        inputShape: [28, 28, 1],
        preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
        classCount: 10,
        classNames: null,
        testAccuracy: 0.9,
      });
  });
});
