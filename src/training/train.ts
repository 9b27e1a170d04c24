import type { JobSpec } from '../domain/job-spec.js';
import { earlyStoppingDecision } from '../domain/early-stopping.js';
import type { EpochMetrics, StepLoss, StoppedEarly } from '../domain/metrics.js';
import { stepsPerEpoch, testSampleCount, trainSampleCount } from '../domain/model-shape.js';
import type { Dataset } from '../datasets/loading/index.js';
import { captureState, restoreState, type Checkpoint } from './checkpoint.js';
import { DenseEngine } from './dense-engine.js';
import { EpochBatches } from './epoch-batches.js';
import { StepLossReader } from './loss-reader.js';
import { buildModel, type Model } from './model.js';
import {
  createOptimizer,
  disposeOptimizer,
  prepareOptimizer,
  trainingStep,
  type TrainingOptimizer,
} from './optimizer.js';
import { Random } from './random.js';
import type { HelperLink } from './split/helper-link.js';
import { testPass, type TestPredictions } from './test-pass.js';
import { validationSplit, type ValidationSplit } from './validation-split.js';

export type { Checkpoint } from './checkpoint.js';
export type { EpochMetrics, StepLoss, StoppedEarly } from '../domain/metrics.js';
export type { TestPredictions } from './test-pass.js';
export type { Model } from './model.js';
export { TrainingError } from './training-error.js';

export interface TrainingHooks {
  /** Called with losses in step order, in batches. */
  onSteps?(steps: StepLoss[]): void;
  onEpoch?(metrics: EpochMetrics): void;
  /**
   * Polled between batches: `stop` ends training there, `checkpoint` ends it after reporting a
   * checkpoint of that point (for a graceful hand-over to another worker).
   */
  shouldStop?(): StopRequest;
  /**
   * Called at the end of every epoch (`atEpochEnd`, after its model), also the last, and on a
   * `checkpoint` stop or every `checkpointEverySteps` steps within an epoch.
   */
  onCheckpoint?(checkpoint: Checkpoint): void;
  /**
   * Called during each epoch's test pass with every chunk's predicted classes and their
   * probabilities, in example order (before that epoch's `onEpoch`); costs two extra read-backs per
   * chunk only when given.
   */
  onTestPredictions?(epoch: number, predictions: TestPredictions): void;
  /**
   * Called after each epoch's `onEpoch` (before its checkpoint) with the model as that epoch left it,
   * for a caller that keeps a copy (serialises it); awaited. The model is only lent for the call.
   */
  onEpochModel?(metrics: EpochMetrics, model: Model): Promise<void> | void;
}

export type StopRequest = 'stop' | 'checkpoint' | null | undefined | false;

export interface TrainingResult {
  outcome: 'completed' | 'stopped';
  epochs: EpochMetrics[];
  steps: number;
  /** Set when the spec's early-stopping rule ended a `completed` training before its last epoch. */
  stoppedEarly?: StoppedEarly;
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
  /** Metrics of the epochs done before `resume`, so early stopping sees the whole history. */
  previousEpochs?: readonly EpochMetrics[];
  /**
   * Where a thread lent by the pool meets this run to share its dense steps (the result is the same
   * to the bit with or without it). The caller closes it once training ends.
   */
  helperLink?: HelperLink;
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
  const run = new TrainingRun(spec, dataset, hooks, options);
  try {
    const start = resume ? await run.restore(resume) : { epoch: 1, batch: 0 };
    for (let epoch = start.epoch; epoch <= spec.epochs; epoch++) {
      const finished = await run.runEpoch(epoch, epoch === start.epoch ? start.batch : 0);
      if (!finished) return run.result('stopped');
      if (run.stoppedEarly) break;
    }
    return run.result('completed');
  } finally {
    run.dispose();
  }
}

/** Where a run starts: the epoch (1-based) and the batch within it (0-based). */
interface StartPoint {
  epoch: number;
  batch: number;
}

/**
 * One call of `train`, phase by phase: prepare (the constructor), restore, then per epoch its
 * batches, the test pass and the epoch-end checkpoint; `dispose` frees what prepare built.
 */
class TrainingRun {
  private readonly seed: number;
  private readonly batchesPerEpoch: number;
  private readonly batches: EpochBatches;
  private readonly model: Model;
  private readonly optimizer: TrainingOptimizer;
  /** The hand-made step for dense networks on the WebAssembly fast path; tfjs's tape otherwise. */
  private readonly engine: DenseEngine | undefined;
  private readonly losses: StepLossReader;
  private readonly shuffleRandom: Random;
  private readonly checkpointEverySteps: number;
  private readonly evaluationBatchSize: number;
  private readonly split: ValidationSplit | undefined;
  private readonly previousEpochs: readonly EpochMetrics[];
  private readonly epochs: EpochMetrics[] = [];
  /** Set once the early-stopping rule ends training. */
  stoppedEarly: StoppedEarly | undefined;
  /** Global steps done. */
  private step = 0;
  /** Shuffle state a checkpoint taken now resumes from: before this epoch's shuffle, or the next one's. */
  private epochShuffleState: number;
  /** Global steps done when the current epoch started. */
  private epochStartStep = 0;

  /** Prepare: the epoch buffers, then the model and optimizer that `dispose` frees whatever happens next. */
  constructor(
    private readonly spec: JobSpec,
    private readonly dataset: Dataset,
    private readonly hooks: TrainingHooks,
    options: TrainingOptions,
  ) {
    this.seed = spec.seed ?? 0;
    this.batchesPerEpoch = stepsPerEpoch(spec, dataset.info);
    this.checkpointEverySteps = options.checkpointEverySteps ?? 0;
    this.evaluationBatchSize = options.evaluationBatchSize ?? 1000;
    this.previousEpochs = options.previousEpochs ?? [];
    const { train: trainSplit, info } = dataset;
    this.split = validationSplit(spec, trainSplit, info);
    const count = trainSampleCount(spec, info);
    this.batches = new EpochBatches(trainSplit, count, info.numClasses, spec.batchSize, this.split?.trainIndices);
    this.model = buildModel(spec.model.layers, info.inputShape, this.seed);
    this.optimizer = createOptimizer(spec.optimizer, spec.learningRate);
    prepareOptimizer(this.optimizer, this.model.variables);
    this.engine = DenseEngine.for(spec.model.layers, this.model, this.optimizer, spec.batchSize);
    if (this.engine && options.helperLink) this.engine.useHelper(options.helperLink);
    this.losses = new StepLossReader(hooks, {
      interval: options.lossReadInterval ?? 50,
      intervalMs: options.lossReadIntervalMs ?? 100,
      learningRate: spec.learningRate,
    });
    this.shuffleRandom = new Random(this.seed ^ 0x5bd1e995);
    this.epochShuffleState = this.shuffleRandom.state;
  }

  /** Restore: weights, optimizer state, step, shuffle state and the epoch's loss sum from `checkpoint`. */
  async restore(checkpoint: Checkpoint): Promise<StartPoint> {
    await restoreState(this.model, this.optimizer, checkpoint);
    this.step = checkpoint.step;
    // A fork may change the batch size, so its steps no longer divide into this run's epochs: the
    // checkpoint says where in an epoch it was taken. Older checkpoints follow from the step.
    const epoch =
      checkpoint.batch === undefined ? Math.floor(this.step / this.batchesPerEpoch) + 1 : checkpoint.epoch + 1;
    const batch = checkpoint.batch ?? this.step - (epoch - 1) * this.batchesPerEpoch;
    this.shuffleRandom.state = checkpoint.shuffleState;
    this.losses.resumeAt(this.step + 1, batch > 0 ? checkpoint.epochLossSum : 0);
    return { epoch, batch };
  }

  /** One epoch from `startBatch`: shuffle, batches, test pass, checkpoint. False when a stop was asked. */
  async runEpoch(epoch: number, startBatch: number): Promise<boolean> {
    const epochStart = performance.now();
    this.epochStartStep = this.step - startBatch;
    this.epochShuffleState = this.shuffleRandom.state;
    this.batches.shuffle(this.shuffleRandom);
    if (!(await this.runBatches(epoch, startBatch))) return false;
    this.losses.drain(epoch);
    const trainingMs = performance.now() - epochStart;
    const tested = this.test(epoch);
    const validated = this.validate();
    const metrics: EpochMetrics = {
      epoch,
      ...tested,
      trainLoss: this.losses.epochLossSum / this.batchesPerEpoch,
      durationMs: Math.round(performance.now() - epochStart),
      samplesPerSecond: this.samplesTrained(startBatch) / (trainingMs / 1000),
      ...validated,
    };
    this.epochs.push(metrics);
    this.hooks.onEpoch?.(metrics);
    await this.hooks.onEpochModel?.(metrics, this.model);
    this.losses.epochLossSum = 0;
    this.epochShuffleState = this.shuffleRandom.state;
    const rule = this.spec.earlyStopping;
    if (rule && epoch < this.spec.epochs)
      this.stoppedEarly = earlyStoppingDecision(rule, [...this.previousEpochs, ...this.epochs]);
    this.epochStartStep = this.step;
    await this.checkpoint(epoch, true);
    return true;
  }

  /** The validation pass: the held-out examples, evaluated as the test split is. Empty without a split. */
  private validate(): Pick<EpochMetrics, 'validationAccuracy' | 'validationLoss'> {
    if (!this.split) return {};
    const { validation } = this.split;
    const settings = {
      count: validation.count,
      classes: this.dataset.info.numClasses,
      chunkSize: this.evaluationBatchSize,
    };
    const result = testPass(this.model, validation, settings);
    return { validationAccuracy: result.testAccuracy, validationLoss: result.testLoss };
  }

  /** The epoch's batches from `startBatch`, polling for a stop before each. False when one was asked. */
  private async runBatches(epoch: number, startBatch: number): Promise<boolean> {
    for (let batch = startBatch; batch < this.batchesPerEpoch; batch++) {
      const stopRequest = this.hooks.shouldStop?.();
      if (stopRequest) {
        this.losses.drain(epoch);
        if (stopRequest === 'checkpoint') await this.checkpoint(epoch - 1);
        return false;
      }
      this.step += 1;
      const { inputs, targets } = this.batches.batch(batch);
      const dropoutSeed = (this.seed + this.step * 7919) >>> 0;
      const loss = this.engine
        ? this.engine.step(inputs, targets)
        : trainingStep(this.model, this.optimizer, inputs, targets, dropoutSeed);
      this.losses.push(loss, epoch);
      const every = this.checkpointEverySteps;
      if (every > 0 && this.step % every === 0 && batch < this.batchesPerEpoch - 1) {
        this.losses.drain(epoch);
        await this.checkpoint(epoch - 1);
      }
    }
    return true;
  }

  /** The test pass after `epoch`'s batches, handing predictions to `onTestPredictions` when it is given. */
  private test(epoch: number) {
    const { hooks } = this;
    const settings = {
      count: testSampleCount(this.spec, this.dataset.info),
      classes: this.dataset.info.numClasses,
      chunkSize: this.evaluationBatchSize,
    };
    const onPredictions = hooks.onTestPredictions
      ? (predictions: TestPredictions) => hooks.onTestPredictions?.(epoch, predictions)
      : undefined;
    return testPass(this.model, this.dataset.test, settings, onPredictions);
  }

  /** Training examples this call trained on in an epoch started at `startBatch`. */
  private samplesTrained(startBatch: number): number {
    return Math.min(
      trainSampleCount(this.spec, this.dataset.info),
      (this.batchesPerEpoch - startBatch) * this.spec.batchSize,
    );
  }

  /** Checkpoint: reports the state to continue from, `completedEpochs` epochs and `step` steps in. */
  private async checkpoint(completedEpochs: number, atEpochEnd = false): Promise<void> {
    if (!this.hooks.onCheckpoint) return;
    const state = await captureState(this.model, this.optimizer);
    this.hooks.onCheckpoint({
      step: this.step,
      epoch: completedEpochs,
      batch: this.step - this.epochStartStep,
      ...(atEpochEnd ? { atEpochEnd } : {}),
      shuffleState: this.epochShuffleState,
      epochLossSum: this.losses.epochLossSum,
      ...state,
    });
  }

  result(outcome: TrainingResult['outcome']): TrainingResult {
    return {
      outcome,
      epochs: this.epochs,
      steps: this.step,
      ...(outcome === 'completed' && this.stoppedEarly ? { stoppedEarly: this.stoppedEarly } : {}),
    };
  }

  dispose(): void {
    this.engine?.dispose();
    this.losses.dispose();
    disposeOptimizer(this.optimizer);
    this.model.dispose();
  }
}
