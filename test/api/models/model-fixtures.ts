import { randomUUID } from 'node:crypto';
import type { LayerSpec } from '../../../src/domain/job-spec.js';
import type { ArtifactStore } from '../../../src/store/artifacts/artifact-store.js';
import type { JobsRepository } from '../../../src/store/jobs-repository.js';
import type { ModelsRepository, ModelVersion } from '../../../src/store/models-repository.js';
import { buildModel } from '../../../src/training/model.js';
import { serializeLayersModel, toLayersModel } from '../../../src/training/model-artifact.js';
import { parsedSmallSpec } from '../../helpers/specs.js';

export const layers: LayerSpec[] = [
  { type: 'dense', units: 32, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'linear' },
];
export const preprocessing = { scale: 1 / 255, mean: 0.1307, std: 0.3081 };
export const classNames = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** A job row of the given status, made directly in the store. */
export async function storedJob(jobs: JobsRepository, status: 'queued' | 'running' | 'completed' = 'completed') {
  const job = await jobs.create({ id: randomUUID(), spec: parsedSmallSpec(), parameterCount: 1, totalSteps: 64 });
  if (status === 'running') await jobs.claim(job.id, 'cpu', 60_000, randomUUID());
  if (status === 'completed') await jobs.finish(job.id, 'completed');
  return job;
}

/** Stores a small trained-looking model (random weights from `seed`) as the job's `version`. */
export async function storedModel(
  stores: { models: ModelsRepository; artifacts: ArtifactStore },
  jobId: string,
  version: ModelVersion,
  seed: number,
) {
  const model = buildModel(layers, 784, seed);
  const layersModel = toLayersModel(model, layers);
  const files = await serializeLayersModel(layersModel);
  layersModel.dispose();
  model.dispose();
  const modelJson = await stores.artifacts.put([files.modelJson]);
  const weights = await stores.artifacts.put([files.weights]);
  await stores.models.save({
    jobId,
    version,
    epoch: version === 'final' ? 2 : 1,
    modelJsonArtifactId: modelJson.id,
    weightsArtifactId: weights.id,
    tfjsVersion: '4.22.0',
    inputShape: [28, 28],
    preprocessing,
    classCount: 10,
    classNames,
    testAccuracy: 0.9,
  });
  return { files, modelJson, weights };
}

/** `count` deterministic raw MNIST-like inputs, 784 values 0..255 each. */
export function rawInputs(count: number, seed: number): number[][] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) % 256;
  return Array.from({ length: count }, () => Array.from({ length: 784 }, next));
}
