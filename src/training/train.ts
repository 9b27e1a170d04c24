import * as tf from '@tensorflow/tfjs';
import type { JobSpec, OptimizerName } from '../domain/job-spec.js';
import type { EpochMetrics, StepLoss } from '../domain/metrics.js';
import { stepsPerEpoch, testSampleCount, trainSampleCount } from '../domain/model-shape.js';
import type { Dataset, DatasetSplit } from './datasets/index.js';
import { captureState, restoreState, type Checkpoint } from './checkpoint.js';
import { buildModel, type Model } from './model.js';
import { Random } from './random.js';

export type { Checkpoint } from './checkpoint.js';

export type { EpochMetrics, StepLoss } from '../domain/metrics.js';

export interface TrainingHooks {
  /** Called with losses in step order, in batches. */
  onSteps?(steps: StepLoss[]): void;
  onEpoch?(metrics: EpochMetrics): void;
  /**
   * Polled between batches: `stop` ends training there, `checkpoint` ends it after reporting a
   * checkpoint of that point (for a graceful hand-over to another worker).
   */
  shouldStop?(): StopRequest;
  /** Called at the end of every epoch but the last, and on a `checkpoint` stop. */
  onCheckpoint?(checkpoint: Checkpoint): void;
}

export type StopRequest = 'stop' | 'checkpoint' | null | undefined | false;

export interface TrainingResult {
  outcome: 'completed' | 'stopped';
  epochs: EpochMetrics[];
  steps: number;
}

/** A training failure a user can act on, such as a diverging loss. */
export class TrainingError extends Error {
  constructor(
    readonly code: 'diverged',
    message: string,
  ) {
    super(message);
    this.name = 'TrainingError';
  }
}

export interface TrainingOptions {
  /** Most step losses held on the backend before they are read back at once. */
  lossReadInterval?: number;
  /** Longest a step loss waits on the backend before it is read back, so slow jobs still report live. */
  lossReadIntervalMs?: number;
  /** Test examples per forward pass during evaluation. */
  evaluationBatchSize?: number;
  /** Also checkpoint every this many steps within an epoch (0: only at epoch ends). */
  checkpointEverySteps?: number;
}

/** The optimizer a spec names, with tfjs's defaults (momentum 0.9 for `momentum`). */
export function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, 0.9);
    case 'adam':
      return tf.train.adam(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
  }
}

// MomentumOptimizer.dispose() forgets the learning-rate scalar its SGD base class keeps (tfjs 4.22).
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer) {
    const inherited = (optimizer as unknown as { c?: tf.Tensor }).c;
    if (inherited && !inherited.isDisposed) inherited.dispose();
  }
}

function oneHot(labels: Uint8Array, classes: number): Float32Array {
  const encoded = new Float32Array(labels.length * classes);
  for (let index = 0; index < labels.length; index++) encoded[index * classes + (labels[index] as number)] = 1;
  return encoded;
}

/** Copies the first `count` examples of `split` into `order`, so batches are contiguous views. */
function permute(split: DatasetSplit, order: Uint32Array, inputs: Float32Array, labels: Uint8Array): void {
  const features = split.features;
  for (let row = 0; row < order.length; row++) {
    const source = order[row] as number;
    inputs.set(split.inputs.subarray(source * features, (source + 1) * features), row * features);
    labels[row] = split.labels[source] as number;
  }
}

/**
 * One optimizer step on a batch (row-major inputs and one-hot targets); returns the batch's mean
 * loss as a scalar the caller disposes.
 */
export function trainingStep(
  model: Model,
  optimizer: tf.Optimizer,
  inputs: Float32Array,
  targets: Float32Array,
  dropoutSeed: number,
): tf.Scalar {
  const features = model.inputFeatures;
  const size = inputs.length / features;
  return tf.tidy(() => {
    const x = tf.tensor2d(inputs, [size, features]);
    const y = tf.tensor2d(targets, [size, targets.length / size]);
    return optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.logits(x, { dropoutSeed })),
      true,
      model.variables,
    ) as tf.Scalar;
  });
}

/** Test accuracy and mean test loss over the first `count` test examples, in chunks. */
export function evaluate(model: Model, split: DatasetSplit, count: number, classes: number, chunk: number) {
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < count; start += chunk) {
    const size = Math.min(chunk, count - start);
    const [chunkLoss, chunkCorrect] = tf.tidy(() => {
      const inputs = tf.tensor2d(split.inputs.subarray(start * split.features, (start + size) * split.features), [
        size,
        split.features,
      ]);
      const labels = tf.tensor1d(split.labels.subarray(start, start + size), 'int32');
      const logits = model.logits(inputs);
      const loss = tf.losses.softmaxCrossEntropy(
        tf.oneHot(labels, classes),
        logits,
        undefined,
        undefined,
        tf.Reduction.SUM,
      );
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
      return [loss.dataSync()[0] ?? Number.NaN, hits.dataSync()[0] ?? 0];
    });
    lossSum += chunkLoss;
    correct += chunkCorrect;
  }
  return { testAccuracy: correct / count, testLoss: lossSum / count };
}

/**
 * Trains the network a spec describes on `dataset`, reporting through `hooks`; from `resume` when
 * given, continuing exactly where that checkpoint was taken. Leaves no tensors behind, whether it
 * completes, stops or throws.
 */
export async function train(
  spec: JobSpec,
  dataset: Dataset,
  hooks: TrainingHooks = {},
  options: TrainingOptions = {},
  resume?: Checkpoint,
): Promise<TrainingResult> {
  const lossReadInterval = options.lossReadInterval ?? 50;
  const lossReadIntervalMs = options.lossReadIntervalMs ?? 100;
  const evaluationBatchSize = options.evaluationBatchSize ?? 1000;
  const checkpointEverySteps = options.checkpointEverySteps ?? 0;
  const { train: trainSplit, test: testSplit, info } = dataset;
  const trainCount = trainSampleCount(spec);
  const testCount = testSampleCount(spec);
  const classes = info.numClasses;
  const features = trainSplit.features;
  const batchesPerEpoch = stepsPerEpoch(spec);
  const seed = spec.seed ?? 0;

  // Built before anything else can throw, and freed by the `finally` below whatever happens next.
  const model = buildModel(spec.model.layers, features, seed);
  const optimizer = createOptimizer(spec.optimizer, spec.learningRate);
  const shuffleRandom = new Random(seed ^ 0x5bd1e995);
  let order = new Uint32Array(0);
  let epochInputs = new Float32Array(0);
  let epochLabels = new Uint8Array(0);
  const epochs: EpochMetrics[] = [];
  let step = 0;
  let pending: tf.Scalar[] = [];
  let pendingFirstStep = 1;
  let lastRead = performance.now();
  let epochLossSum = 0;
  let epochShuffleState = shuffleRandom.state;

  // Reads queued loss scalars in one transfer instead of one blocking read per step.
  const drainLosses = (epoch: number) => {
    lastRead = performance.now();
    if (pending.length === 0) return;
    const stacked = tf.stack(pending);
    const values = stacked.dataSync();
    stacked.dispose();
    for (const scalar of pending) scalar.dispose();
    pending = [];
    const steps: StepLoss[] = [];
    for (let index = 0; index < values.length; index++) {
      const loss = values[index] as number;
      const at = pendingFirstStep + index;
      if (!Number.isFinite(loss)) {
        // The finite steps before it are part of the history the job keeps.
        if (steps.length > 0) hooks.onSteps?.(steps);
        throw new TrainingError(
          'diverged',
          `training diverged: the loss became ${loss} at step ${at} (epoch ${epoch}); try a lower learningRate than ${spec.learningRate}`,
        );
      }
      epochLossSum += loss;
      steps.push({ step: at, epoch, loss });
    }
    pendingFirstStep += values.length;
    hooks.onSteps?.(steps);
  };

  const checkpoint = async (completedEpochs: number): Promise<void> => {
    if (!hooks.onCheckpoint) return;
    const state = await captureState(model, optimizer);
    hooks.onCheckpoint({ step, epoch: completedEpochs, shuffleState: epochShuffleState, epochLossSum, ...state });
  };

  try {
    order = new Uint32Array(trainCount);
    epochInputs = new Float32Array(trainCount * features);
    epochLabels = new Uint8Array(trainCount);
    let firstEpoch = 1;
    let skipBatches = 0;
    if (resume) {
      await restoreState(model, optimizer, resume);
      step = resume.step;
      pendingFirstStep = step + 1;
      firstEpoch = Math.floor(step / batchesPerEpoch) + 1;
      skipBatches = step - (firstEpoch - 1) * batchesPerEpoch;
      shuffleRandom.state = resume.shuffleState;
      epochLossSum = skipBatches > 0 ? resume.epochLossSum : 0;
    }

    for (let epoch = firstEpoch; epoch <= spec.epochs; epoch++) {
      const epochStart = performance.now();
      epochShuffleState = shuffleRandom.state;
      for (let index = 0; index < trainCount; index++) order[index] = index;
      shuffleRandom.shuffle(order);
      permute(trainSplit, order, epochInputs, epochLabels);
      const epochTargets = oneHot(epochLabels, classes);
      const startBatch = epoch === firstEpoch ? skipBatches : 0;

      for (let batch = startBatch; batch < batchesPerEpoch; batch++) {
        const stopRequest = hooks.shouldStop?.();
        if (stopRequest) {
          drainLosses(epoch);
          if (stopRequest === 'checkpoint') await checkpoint(epoch - 1);
          return { outcome: 'stopped', epochs, steps: step };
        }
        const start = batch * spec.batchSize;
        const size = Math.min(spec.batchSize, trainCount - start);
        step += 1;
        const dropoutSeed = (seed + step * 7919) >>> 0;
        const loss = trainingStep(
          model,
          optimizer,
          epochInputs.subarray(start * features, (start + size) * features),
          epochTargets.subarray(start * classes, (start + size) * classes),
          dropoutSeed,
        );
        pending.push(loss);
        if (pending.length >= lossReadInterval || performance.now() - lastRead >= lossReadIntervalMs)
          drainLosses(epoch);
        if (checkpointEverySteps > 0 && step % checkpointEverySteps === 0 && batch < batchesPerEpoch - 1) {
          drainLosses(epoch);
          await checkpoint(epoch - 1);
        }
      }
      drainLosses(epoch);
      const trainingMs = performance.now() - epochStart;
      const evaluation = evaluate(model, testSplit, testCount, classes, evaluationBatchSize);
      const samplesThisAttempt = Math.min(trainCount, (batchesPerEpoch - startBatch) * spec.batchSize);
      const metrics: EpochMetrics = {
        epoch,
        ...evaluation,
        trainLoss: epochLossSum / batchesPerEpoch,
        durationMs: Math.round(performance.now() - epochStart),
        samplesPerSecond: samplesThisAttempt / (trainingMs / 1000),
      };
      epochs.push(metrics);
      hooks.onEpoch?.(metrics);
      epochLossSum = 0;
      epochShuffleState = shuffleRandom.state;
      if (epoch < spec.epochs) await checkpoint(epoch);
    }
    return { outcome: 'completed', epochs, steps: step };
  } finally {
    for (const scalar of pending) scalar.dispose();
    disposeOptimizer(optimizer);
    model.dispose();
  }
}
