import { perClassAccuracy } from '../domain/evaluation.js';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import type { StoredJobSpec } from '../domain/job-spec.js';
import type { Job } from '../store/jobs-repository.js';
import type { Checkpoint, EpochMetrics } from '../training/train.js';
import { crashedAttempts, gaveUpError, startDeadline } from './attempt-limits.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js';
import type { RunnerStore } from './durable-jobs.js';
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
}

/** What every attempt of a runner shares. */
export interface AttemptContext extends AttemptSettings {
  /** Writes retried through a database outage. */
  jobs: RunnerStore;
  /** Model writes, retried through a database outage. */
  models: ModelStore;
  /** Lease renewals, not retried: a renewal that fails is simply tried again at the next tick. */
  extendLease: RunnerStore['extendLease'];
  pool: Pick<TrainingPool, 'run'>;
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
    const training = await this.#startTraining(spec, results);
    this.#training = training;
    if (this.#stopReason) this.stop(this.#stopReason);
    const clearDeadline = startDeadline(this.job, this.context.maxTrainingMs, () => this.stop('timeout'));
    const outcome = await training.result.finally(clearDeadline);
    await results.settled();
    // An abandoned attempt leaves what it still holds unwritten: the job is another worker's now.
    const writeFailure = this.#lease.lost ? undefined : await results.close();
    return this.#conclude(outcome, writeFailure);
  }

  /** Starts training on the pool; if it cannot start, the job is handed back (not counted as a crash). */
  async #startTraining(spec: StoredJobSpec, results: ResultWriter): Promise<RunningTraining> {
    const { jobs, pool, checkpointEverySteps } = this.context;
    try {
      const resume = await this.#startingPoint(spec);
      // Early stopping decides over the whole history, also the epochs before the checkpoint.
      const previousEpochs: EpochMetrics[] = resume && spec.earlyStopping ? await jobs.listEpochs(this.job.id) : [];
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
    return {
      onSteps: (records) => results.addSteps(records),
      onEpoch: (metrics, evaluation) => {
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
          await jobs.saveCheckpoint(jobId, encodeCheckpoint(checkpoint));
          this.log.debug({ step: checkpoint.step }, 'checkpoint stored');
        }),
    };
  }

  /** Where this attempt starts: the latest checkpoint, or the beginning. The record is rewound to match. */
  async #startingPoint(spec: StoredJobSpec): Promise<Checkpoint | undefined> {
    const { job } = this;
    if (job.attempts <= 1) return undefined;
    const stored = await this.context.jobs.loadCheckpoint(job.id);
    const resume = stored ? decodeCheckpoint(stored) : undefined;
    const step = resume?.step ?? 0;
    // The row's total gives the steps of an epoch without the dataset (an uploaded one lives in the store).
    const perEpoch = Math.max(1, job.totalSteps / spec.epochs);
    const progressEpoch = step === 0 ? 0 : Math.ceil(step / perEpoch);
    await this.context.jobs.rewindTo(job.id, { step, completedEpochs: resume?.epoch ?? 0, progressEpoch });
    this.log.info(
      { fromStep: step, attempt: job.attempts },
      resume ? 'resuming from checkpoint' : 'restarting from the beginning',
    );
    return resume;
  }

  async #conclude(outcome: TrainingOutcome, writeFailure: unknown): Promise<RunResult> {
    const end = attemptEnd({
      outcome,
      stopReason: this.#stopReason,
      writeFailure,
      maxTrainingMs: this.context.maxTrainingMs,
    });
    if (end.action === 'abandon') {
      this.log.warn({ outcome: outcome.outcome }, 'attempt abandoned: another worker owns the job now');
      return 'skipped';
    }
    if (outcome.numTensors > 0)
      this.log.warn({ numTensors: outcome.numTensors }, 'training thread holds tensors after the job');
    if (end.action === 'hand-back') {
      await this.context.jobs.handBack(this.job.id, this.owner);
      this.context.publish({ type: 'status', jobId: this.job.id, status: 'queued', error: null });
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
