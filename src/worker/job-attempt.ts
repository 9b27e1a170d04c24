import { perClassAccuracy } from '../domain/evaluation.js';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import type { StoredJobSpec } from '../domain/job-spec.js';
import type { ForkStart, Job } from '../store/jobs-repository.js';
import type { Checkpoint, EpochMetrics } from '../training/train.js';
import { crashedAttempts, gaveUpError, startDeadline } from './attempt-limits.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js';
import type { CheckpointStore, RunnerStore } from './durable-jobs.js';
import { attemptEnd, type FinalStatus, type StopReason } from './final-status.js';
import { JobLease } from './lease.js';
import { createEventOrder } from './event-order.js';
import { createModelKeeper, type ModelStore } from './model-keeper.js';
import { createResultWriter, type ResultWriter } from './result-writer.js';
import { createStepWriter, type StepWriterOptions } from './step-writer.js';
import type { RunningTraining, TrainingListener, TrainingOutcome, TrainingPool } from './training-pool.js';

/**
 * What became of a message: the job ended, it was not ours to run (finished, cancelled or gone),
 * another live worker is training it, or we gave it back to the queue.
 */
export type RunResult = 'finished' | 'skipped' | 'busy' | 'handed-back';

/** How a runner's attempts write, stop and give up; set once for the runner. */
export interface AttemptSettings {
  publish: PublishEvent;
  steps: StepWriterOptions;
  /** Attempts a job may take before it is failed; only attempts its worker did not survive count. */
  maxAttempts: number;
  /** A job still training after this long is stopped and failed. */
  maxTrainingMs: number;
  /** Also checkpoint every this many steps (0: only at epoch ends). */
  checkpointEverySteps: number;
  /** How long a worker's claim on a job lasts without renewal; renewed every third of it. */
  leaseMs: number;
  /** Epochs whose checkpoints a run keeps besides its best one; 3 unless told. */
  checkpointKeepLast?: number;
}

/** A fork whose pinned checkpoint is gone: nothing to start from, so it fails rather than train from scratch. */
class ForkCheckpointGone extends Error {}

/** What every attempt of a runner shares. */
export interface AttemptContext extends AttemptSettings {
  /** Writes retried through a database outage. */
  jobs: RunnerStore;
  /** Model writes, retried through a database outage. */
  models: ModelStore;
  /** Lease renewals, not retried: a renewal that fails is simply tried again at the next tick. */
  extendLease: RunnerStore['extendLease'];
  pool: Pick<TrainingPool, 'run'>;
  /** Kept checkpoints and forks; without it, epoch-end checkpoints are only kept while the job runs. */
  checkpoints?: CheckpointStore;
}

/** One claimed attempt at a job: trains it under a lease, records everything, and ends or hands it back. */
export class JobAttempt {
  #stopReason: StopReason | undefined;
  #training: RunningTraining | undefined;
  readonly #lease: JobLease;
  readonly #events: ReturnType<typeof createEventOrder>;

  constructor(
    readonly job: Job,
    readonly owner: string,
    private readonly context: AttemptContext,
    private readonly log: Logger,
  ) {
    this.#events = createEventOrder(context.publish, job.id);
    // Renewed from the claim on, also while a checkpoint loads.
    this.#lease = new JobLease(() => context.extendLease(job.id, owner, context.leaseMs), {
      renewEveryMs: context.leaseMs / 3,
      onLost: () => {
        log.warn('lost the lease on this job to another worker; stopping this attempt');
        this.stop('lease-lost');
      },
      onRenewError: (error) => log.warn({ err: error }, 'could not renew the job lease'),
    });
  }

  get stopReason(): StopReason | undefined {
    return this.#stopReason;
  }

  /** Asks training to stop between batches (at once if it runs, else as soon as it starts); the first reason wins. */
  stop(reason: StopReason): void {
    this.#stopReason ??= reason;
    this.#training?.stop(this.#stopReason === 'shutdown' ? 'checkpoint' : 'stop');
  }

  async run(): Promise<RunResult> {
    const { job, context } = this;
    const crashed = crashedAttempts(job);
    if (crashed >= context.maxAttempts) {
      await this.#finish('failed', gaveUpError(crashed));
      return 'finished';
    }
    this.log.info({ status: 'running', attempt: job.attempts, backend: job.backend }, 'job running');
    context.publish({ type: 'status', jobId: job.id, status: 'running', error: null });
    this.#lease.start();
    try {
      // The row mapper parsed the stored spec once; a row from an older version that no longer parses fails here.
      if (job.specError !== null) {
        await this.#finish('failed', `stored spec is no longer valid: ${job.specError}`);
        return 'finished';
      }
      return await this.#train(job.spec);
    } finally {
      this.#lease.stop();
    }
  }

  async #train(spec: StoredJobSpec): Promise<RunResult> {
    const results = this.#resultWriter();
    let training: RunningTraining;
    try {
      training = await this.#startTraining(spec, results);
    } catch (error) {
      if (!(error instanceof ForkCheckpointGone)) throw error;
      await this.#finish('failed', error.message);
      return 'finished';
    }
    this.#training = training;
    if (this.#stopReason) this.stop(this.#stopReason);
    const clearDeadline = startDeadline(this.job, this.#trainingLimit(spec).ms, () => this.stop('timeout'));
    const outcome = await training.result.finally(clearDeadline);
    await results.settled();
    // An abandoned attempt leaves what it still holds unwritten: the job is another worker's now.
    const writeFailure = this.#lease.lost ? undefined : await results.close();
    return this.#conclude(outcome, writeFailure, this.#trainingLimit(spec));
  }

  /**
   * How long the job may train: the server's limit, or the job's `maxDurationSeconds` when shorter.
   * That is the one recorded on its row when it was submitted (its spec's, else its owner's default);
   * a row from before it was recorded has only its spec's.
   */
  #trainingLimit(spec: StoredJobSpec): { ms: number; jobSeconds?: number; from?: 'job' | 'owner' } {
    const own = this.job.maxDurationSeconds ?? spec.maxDurationSeconds;
    const serverMs = this.context.maxTrainingMs;
    if (own === undefined || own * 1000 >= serverMs) return { ms: serverMs };
    return { ms: own * 1000, jobSeconds: own, from: spec.maxDurationSeconds === undefined ? 'owner' : 'job' };
  }

  /** Starts training on the pool; if it cannot start, the job is handed back (not counted as a crash). */
  async #startTraining(spec: StoredJobSpec, results: ResultWriter): Promise<RunningTraining> {
    const { jobs, pool, checkpointEverySteps } = this.context;
    let start: { resume: Checkpoint | undefined; fork: ForkStart | null };
    try {
      start = await this.#startingPoint(spec);
    } catch (error) {
      if (error instanceof ForkCheckpointGone) throw error;
      this.log.warn({ err: error }, 'could not start training; handing the job back');
      await jobs.handBack(this.job.id, this.owner);
      throw error;
    }
    try {
      const { resume } = start;
      // Early stopping decides over the whole history, also the epochs before the checkpoint.
      const previousEpochs: EpochMetrics[] = resume && spec.earlyStopping ? await this.#previousEpochs(start.fork) : [];
      return await pool.run(this.job.id, spec, this.#listener(spec, results), {
        checkpointEverySteps,
        ...(resume ? { resume, previousEpochs } : {}),
      });
    } catch (error) {
      this.log.warn({ err: error }, 'could not start training; handing the job back');
      await jobs.handBack(this.job.id, this.owner);
      throw error;
    }
  }

  #resultWriter(): ResultWriter {
    const { jobs, steps } = this.context;
    const jobId = this.job.id;
    const writer = createStepWriter(
      jobs,
      jobId,
      steps,
      (written) => this.#events.steps(written),
      // Once a write has failed for good there is no point training on: stop and fail the job.
      () => this.stop('store'),
    );
    return createResultWriter(writer, { abandoned: () => this.#lease.lost, onFailure: () => this.stop('store') });
  }

  /**
   * Writes what training reports in the order it came, each after the steps before it: an epoch's
   * metrics, then its model, then its checkpoint. A job's checkpoint is only deleted when it ends,
   * after this chain has drained, so its models are committed by then.
   */
  #listener(spec: StoredJobSpec, results: ResultWriter): TrainingListener {
    const { jobs } = this.context;
    const jobId = this.job.id;
    const events = this.#events;
    const keeper = createModelKeeper(this.context.models, jobId, spec.dataset, () => jobs.listEpochs(jobId));
    // Each epoch's score, for the retention of its checkpoint (its best one is kept).
    const scores = new Map<number, number>();
    return {
      onSteps: (records) => results.addSteps(records),
      onEpoch: (metrics, evaluation) => {
        scores.set(metrics.epoch, metrics.validationAccuracy ?? metrics.testAccuracy);
        events.epochReported(metrics.epoch);
        results.afterSteps(async () => {
          try {
            await jobs.recordEpoch(jobId, evaluation ? { ...metrics, evaluation } : metrics);
          } catch (error) {
            events.epochDone(metrics.epoch);
            throw error;
          }
          const perClass = evaluation ? { perClassAccuracy: perClassAccuracy(evaluation) } : {};
          events.epochDone(metrics.epoch, { ...metrics, ...perClass });
          const { epoch, testAccuracy, testLoss } = metrics;
          this.log.info({ epoch, testAccuracy, testLoss }, 'epoch finished');
        });
      },
      onModel: (model) =>
        results.afterSteps(async () => {
          const { best } = await keeper.keep(model);
          this.log.debug({ epoch: model.epoch, bytes: model.weights.byteLength, best }, 'model stored');
        }),
      onCheckpoint: (checkpoint) =>
        results.afterSteps(async () => {
          const store = this.context.checkpoints;
          if (checkpoint.atEpochEnd && store) {
            await this.#keep(store, checkpoint, scores.get(checkpoint.epoch) ?? null);
            return;
          }
          await jobs.saveCheckpoint(jobId, encodeCheckpoint(checkpoint));
          this.log.debug({ step: checkpoint.step }, 'checkpoint stored');
        }),
    };
  }

  /** Keeps an epoch's checkpoint: its tensors in the artifact store, its row within the retention. */
  async #keep(store: CheckpointStore, checkpoint: Checkpoint, score: number | null): Promise<void> {
    const encoded = encodeCheckpoint(checkpoint);
    const artifact = await store.putArtifact([encoded.tensors]);
    const kept = { epoch: checkpoint.epoch, step: checkpoint.step, artifactId: artifact.id, bytes: artifact.bytes };
    await store.keepCheckpoint(
      this.job.id,
      { ...kept, state: encoded.state, score },
      this.context.checkpointKeepLast ?? 3,
    );
    this.log.debug({ epoch: checkpoint.epoch, step: checkpoint.step, bytes: artifact.bytes }, 'checkpoint kept');
  }

  /** The latest of this job's own checkpoints: the one kept at an epoch's end or a later one within an epoch. */
  async #ownCheckpoint(): Promise<Checkpoint | undefined> {
    const { jobs, checkpoints } = this.context;
    const stored = await jobs.loadCheckpoint(this.job.id);
    const latest = stored ? decodeCheckpoint(stored) : undefined;
    const kept = checkpoints ? await checkpoints.latestKeptCheckpoint(this.job.id) : null;
    if (!checkpoints || !kept || (latest && latest.step >= kept.step)) return latest;
    const tensors = await checkpoints.readArtifact(kept.artifactId);
    if (!tensors) return latest;
    return decodeCheckpoint({
      step: kept.step,
      epoch: kept.epoch,
      state: kept.state,
      tensors: new Uint8Array(tensors),
    });
  }

  /**
   * The checkpoint a fork starts from: its parent's weights, and its optimizer slots unless the
   * fork changed the optimizer. The shuffle generator carries on from the parent's either way.
   */
  async #forkCheckpoint(fork: ForkStart): Promise<Checkpoint> {
    const tensors = fork.checkpoint ? await this.context.checkpoints?.readArtifact(fork.checkpoint.artifactId) : null;
    if (!fork.checkpoint || !tensors) {
      throw new ForkCheckpointGone(
        `the checkpoint of epoch ${fork.parentEpoch} of job ${fork.parentJobId} this fork starts from is gone`,
      );
    }
    const stored = { step: fork.parentStep, epoch: fork.parentEpoch, state: fork.checkpoint.state };
    const checkpoint = decodeCheckpoint({ ...stored, tensors: new Uint8Array(tensors) });
    return { ...checkpoint, batch: 0, optimizer: fork.optimizerState ? checkpoint.optimizer : [] };
  }

  /** The epochs before this attempt's start: a fork's parent's up to the fork point, then its own. */
  async #previousEpochs(fork: ForkStart | null): Promise<EpochMetrics[]> {
    const { jobs, checkpoints } = this.context;
    const own = await jobs.listEpochs(this.job.id);
    if (!fork || !checkpoints) return own;
    const parents = await checkpoints.listEpochs(fork.parentJobId);
    return [...parents.filter((epoch) => epoch.epoch <= fork.parentEpoch), ...own];
  }

  /**
   * Where this attempt starts: its own latest checkpoint, else a fork's parent checkpoint, else the
   * beginning. The record is rewound to match.
   */
  async #startingPoint(spec: StoredJobSpec): Promise<{ resume: Checkpoint | undefined; fork: ForkStart | null }> {
    const { job } = this;
    const fork = (await this.context.checkpoints?.forkStart(job.id)) ?? null;
    if (job.attempts <= 1 && !fork) return { resume: undefined, fork };
    const own = job.attempts > 1 ? await this.#ownCheckpoint() : undefined;
    const resume = own ?? (fork ? await this.#forkCheckpoint(fork) : undefined);
    const step = resume?.step ?? 0;
    const completedEpochs = resume?.epoch ?? 0;
    // The epoch in progress: from where the checkpoint says it was taken, or (older checkpoints) from
    // the row's total, which gives the steps of an epoch without the dataset.
    const perEpoch = Math.max(1, job.totalSteps / spec.epochs);
    const progressEpoch =
      resume?.batch !== undefined
        ? completedEpochs + (resume.batch > 0 ? 1 : 0)
        : step === 0
          ? 0
          : Math.ceil(step / perEpoch);
    await this.context.jobs.rewindTo(job.id, { step, completedEpochs, progressEpoch });
    this.log.info(
      {
        fromStep: step,
        attempt: job.attempts,
        ...(fork ? { parent: fork.parentJobId, fromEpoch: fork.parentEpoch } : {}),
      },
      own
        ? 'resuming from checkpoint'
        : resume
          ? "starting from the parent run's checkpoint"
          : 'restarting from the beginning',
    );
    return { resume, fork };
  }

  async #conclude(
    outcome: TrainingOutcome,
    writeFailure: unknown,
    limit: { jobSeconds?: number; from?: 'job' | 'owner' },
  ): Promise<RunResult> {
    const end = attemptEnd({
      outcome,
      stopReason: this.#stopReason,
      writeFailure,
      maxTrainingMs: this.context.maxTrainingMs,
      ...(limit.jobSeconds === undefined ? {} : { jobLimitSeconds: limit.jobSeconds }),
      ...(limit.from === undefined ? {} : { jobLimitFrom: limit.from }),
    });
    if (end.action === 'abandon') {
      this.log.warn({ outcome: outcome.outcome }, 'attempt abandoned: another worker owns the job now');
      return 'skipped';
    }
    if (outcome.numTensors > 0)
      this.log.warn({ numTensors: outcome.numTensors }, 'training thread holds tensors after the job');
    if (end.action === 'hand-back' || end.action === 'retry') {
      // A retry counts as a crashed attempt: a thread that dies the same way every time fails the job at MAX_ATTEMPTS.
      const crashed = end.action === 'retry';
      await this.context.jobs.handBack(this.job.id, this.owner, { crashed });
      this.context.publish({ type: 'status', jobId: this.job.id, status: 'queued', error: null });
      if (crashed && outcome.outcome === 'failed')
        this.log.warn({ status: 'queued', error: outcome.message }, 'training thread died; job back to the queue');
      else
        this.log.info({ status: 'queued', steps: stepsOf(outcome) }, 'job checkpointed and handed back to the queue');
      return 'handed-back';
    }
    if (
      end.action === 'finish' &&
      end.status === 'completed' &&
      outcome.outcome === 'completed' &&
      outcome.stoppedEarly
    ) {
      await this.context.jobs.recordStoppedEarly(this.job.id, outcome.stoppedEarly);
      this.log.info(outcome.stoppedEarly, 'stopped early');
    }
    // Memory figures on every completion make a leak visible in the logs of a long-lived worker.
    const details =
      outcome.outcome === 'failed'
        ? { code: outcome.code }
        : { steps: outcome.steps, numTensors: outcome.numTensors, rssBytes: process.memoryUsage.rss() };
    await this.#finish(end.status, end.error, details);
    return 'finished';
  }

  /** Writes the final status (the store decides a race with a cancel) and announces the one written. */
  async #finish(status: FinalStatus, error: string | null, details: object = {}): Promise<void> {
    const jobId = this.job.id;
    const written = await this.context.jobs.finish(jobId, status, error ?? undefined, this.owner);
    if (!written) {
      this.log.warn({ asked: status }, 'job was not ours to end any more');
      return;
    }
    const writtenError = written === status ? error : null;
    this.context.publish({ type: 'status', jobId, status: written, error: writtenError });
    const level = written === 'failed' ? 'warn' : 'info';
    this.log[level](
      { status: written, ...(writtenError ? { error: writtenError } : {}), ...details },
      `job ${written}`,
    );
  }
}

const stepsOf = (outcome: TrainingOutcome) => (outcome.outcome === 'failed' ? undefined : outcome.steps);
