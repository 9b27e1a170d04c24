import { describe, expect, it } from 'vitest';
import { ArtifactStoreUnavailable } from '../../src/domain/errors.js';
import { durableModels } from '../../src/worker/durable-jobs.js';
import { silentLogger } from '../helpers/env.js';
import { fakeModelStore } from './fakes.js';

describe('durable model writes', () => {
  it('retries a model’s artifact and record writes through a database outage, storing the whole content once it is back', async () => {
    const { store, records } = fakeModelStore();
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    store.putArtifact.mockRejectedValueOnce(outage).mockRejectedValueOnce(outage);
    store.saveModel.mockRejectedValueOnce(outage);
    const durable = durableModels(store, 5_000, silentLogger());
    const stored = await durable.putArtifact([new Uint8Array(3), new Uint8Array(5)]);
    expect(stored.bytes).toBe(8);
    expect(store.putArtifact).toHaveBeenCalledTimes(3);
    const record = {
      jobId: 'job-1',
      version: 'final' as const,
      epoch: 1,
      modelJsonArtifactId: stored.id,
      weightsArtifactId: stored.id,
      tfjsVersion: '4.22.0',
      inputShape: [28, 28],
      preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
      classCount: 10,
      classNames: null,
      testAccuracy: 0.9,
    };
    await durable.saveModel(record);
    expect(records.get('final')).toEqual(record);
  });

  it('gives up after the retry time, with the last error', async () => {
    const { store } = fakeModelStore();
    store.saveModel.mockRejectedValue(new Error('still down'));
    const durable = durableModels(store, 300, silentLogger());
    await expect(durable.findModel('job-1', 'best')).resolves.toBeNull();
    await expect(durable.saveModel({} as Parameters<typeof durable.saveModel>[0])).rejects.toThrow('still down');
  });

  it('retries storing an artifact for as long as the artifact store may be down, past the database window', async () => {
    const { store } = fakeModelStore();
    const down = new ArtifactStoreUnavailable('s3://trainer/artifacts', 'ECONNREFUSED');
    store.putArtifact.mockRejectedValueOnce(down).mockRejectedValueOnce(down).mockRejectedValueOnce(down);
    store.saveModel.mockRejectedValue(new Error('still down'));
    // No time at all for the database, 5 s for the artifact store: the put outlasts three failures.
    const durable = durableModels(store, 0, silentLogger(), 5_000);
    const stored = await durable.putArtifact([new Uint8Array(4)]);
    expect(stored.bytes).toBe(4);
    expect(store.putArtifact).toHaveBeenCalledTimes(4);
    await expect(durable.saveModel({} as Parameters<typeof durable.saveModel>[0])).rejects.toThrow('still down');
    expect(store.saveModel).toHaveBeenCalledTimes(1);
  });
});
