import { describe, expect, it } from 'vitest';
import type { EpochMetrics } from '../../src/domain/metrics.js';
import { createModelKeeper } from '../../src/worker/model-keeper.js';
import type { EpochModel } from '../../src/worker/thread-protocol.js';
import { fakeModelStore } from './fakes.js';

const jobId = '00000000-0000-4000-8000-000000000001';

const model = (epoch: number, testAccuracy: number, validationAccuracy?: number): EpochModel => ({
  epoch,
  testAccuracy,
  ...(validationAccuracy === undefined ? {} : { validationAccuracy }),
  modelJson: new Uint8Array([123, 125]),
  weights: new Uint8Array(8),
  tfjsVersion: '4.22.0',
});

const epochOf = (epoch: number, testAccuracy: number, validationAccuracy: number): EpochMetrics => ({
  epoch,
  testAccuracy,
  testLoss: 1,
  trainLoss: 1,
  durationMs: 1,
  samplesPerSecond: 1,
  validationAccuracy,
  validationLoss: 1,
});

describe('the model keeper', () => {
  it('chooses best by validation accuracy when the job has a validation split, as bestEpoch is', async () => {
    const { store, records } = fakeModelStore();
    const keeper = createModelKeeper(store, jobId, 'mnist');
    // Epoch 2 tests better but validates worse: epoch 1 stays the best; epoch 3 ties it and wins.
    expect(await keeper.keep(model(1, 0.8, 0.9))).toEqual({ best: true });
    expect(await keeper.keep(model(2, 0.95, 0.85))).toEqual({ best: false });
    expect(await keeper.keep(model(3, 0.7, 0.9))).toEqual({ best: true });
    expect(records.get('best')?.epoch).toBe(3);
  });

  it('carries the best validation accuracy over from an earlier attempt', async () => {
    const first = fakeModelStore();
    await createModelKeeper(first.store, jobId, 'mnist').keep(model(1, 0.8, 0.9));
    const stored = [...first.records.values()];
    const { store, records } = fakeModelStore([], stored);
    const epochs = () => Promise.resolve([epochOf(1, 0.8, 0.9)]);
    const keeper = createModelKeeper(store, jobId, 'mnist', epochs);
    expect(await keeper.keep(model(2, 0.99, 0.88))).toEqual({ best: false });
    expect(records.get('best')?.epoch).toBe(1);
  });
});
