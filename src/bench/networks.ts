import { exerciseNetworks, exerciseSpec, type ExerciseNetwork } from '../domain/exercise.js';
import { randomUUID } from 'node:crypto';
import { datasets } from '../domain/datasets.js';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '../domain/job-spec.js';
import { specParameterCount, totalSteps } from '../domain/model-shape.js';
import type { JobsRepository } from '../store/jobs-repository.js';

export type NetworkName = ExerciseNetwork | 'lenet' | 'cnn';

/** Dense layers of `hidden` units each (ReLU), then a linear one of `classes` units: a plain classifier's layers. */
export function denseLayers(hidden: readonly number[], classes: number) {
  return [
    ...hidden.map((units) => ({ type: 'dense' as const, units, activation: 'relu' as const })),
    { type: 'dense' as const, units: classes },
  ];
}

/** One convolution stage of a small CNN: a ReLU convolution, then a 2x2 max pool. */
interface ConvStage {
  filters: number;
  kernelSize: number;
}

/** Convolution stages, flattened into a ReLU dense layer of `hidden` units, then 10 classes; trained with Adam. */
function smallConvNet(label: string, stages: readonly ConvStage[], hidden: number) {
  return {
    label,
    layers: [
      ...stages.flatMap(({ filters, kernelSize }) => [
        { type: 'conv2d' as const, filters, kernelSize, activation: 'relu' as const },
        { type: 'maxPool2d' as const, poolSize: 2 },
      ]),
      { type: 'flatten' as const },
      ...denseLayers([hidden], 10),
    ],
    training: { batchSize: 64, optimizer: 'adam' as const, learningRate: 0.001 },
  } satisfies { label: string; layers: JobSpecInput['model']['layers']; training: Partial<JobSpecInput> };
}

/** A LeNet-style convolutional network, as PyTorch's MNIST example builds it (32c3-p2-64c3-p2-128-10). */
export const lenet = smallConvNet(
  '28x28x1-c32k3-p2-c64k3-p2-f-128-10',
  [
    { filters: 32, kernelSize: 3 },
    { filters: 64, kernelSize: 3 },
  ],
  128,
);

/** The small CNN the training ceiling is measured on (16c5-p2-32c3-p2-64-10). */
export const smallCnn = smallConvNet(
  '28x28x1-c16k5-p2-c32k3-p2-f-64-10',
  [
    { filters: 16, kernelSize: 5 },
    { filters: 32, kernelSize: 3 },
  ],
  64,
);

const convNetworks = { lenet, cnn: smallCnn };

export function networkLabel(network: NetworkName): string {
  return network === 'lenet' || network === 'cnn' ? convNetworks[network].label : exerciseNetworks[network].label;
}

/** The network's settings on `trainSamples` examples, for `epochs` (1 unless given), seed 1. */
export function benchSpec(network: NetworkName, trainSamples: number, testSamples: number, epochs = 1): JobSpecInput {
  const run = { name: `bench ${networkLabel(network)}`, seed: 1, trainSamples, testSamples, epochs };
  if (network === 'lenet' || network === 'cnn') {
    const { layers, training } = convNetworks[network];
    return { model: { layers: layers.map((layer) => ({ ...layer })) }, ...training, ...run };
  }
  return exerciseSpec(network, run);
}

/** Stores `input` as a new queued MNIST job through the repository, as a submit would; resolves with its id. */
export async function createBenchJob(
  jobs: Pick<JobsRepository, 'create'>,
  input: JobSpecInput,
  steps?: number,
): Promise<{ id: string; spec: JobSpec }> {
  const parsed = parseJobSpec(input, { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const id = randomUUID();
  await jobs.create({
    id,
    spec: parsed.spec,
    parameterCount: specParameterCount(parsed.spec, datasets.mnist),
    totalSteps: steps ?? totalSteps(parsed.spec, datasets.mnist),
  });
  return { id, spec: parsed.spec };
}

/**
 * Writes a whole run of `steps` steps over `epochs` epochs to a stored job as a worker would (claim,
 * steps in batches, epochs, final status); `noise(step)` is added to a falling loss curve.
 */
export async function recordFinishedRun(
  jobs: Pick<JobsRepository, 'claim' | 'recordSteps' | 'recordEpoch' | 'finish'>,
  id: string,
  run: { steps: number; epochs: number; noise: (step: number) => number },
): Promise<void> {
  const { steps, epochs, noise } = run;
  const owner = randomUUID();
  await jobs.claim(id, 'wasm', 600_000, owner);
  const perEpoch = steps / epochs;
  for (let first = 1; first <= steps; first += 20_000) {
    const batch = Array.from({ length: Math.min(20_000, steps - first + 1) }, (_, index) => {
      const step = first + index;
      return { step, epoch: Math.ceil(step / perEpoch), loss: 2.3 / (1 + step / perEpoch) + noise(step) };
    });
    await jobs.recordSteps(id, batch);
  }
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const metrics = { testLoss: 0.3, trainLoss: 0.3, durationMs: 1000, samplesPerSecond: 5000 };
    await jobs.recordEpoch(id, { epoch, testAccuracy: 0.9 + epoch / 400, ...metrics });
  }
  await jobs.finish(id, 'completed', undefined, owner);
}
