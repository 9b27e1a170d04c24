import { randomUUID } from 'node:crypto';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { parseJobSpec, type JobSpec } from '../domain/job-spec.js';
import { stepsPerEpoch } from '../domain/model-shape.js';
import type { Job, JobsRepository } from '../store/jobs-repository.js';
import type { Checkpoint } from '../training/train.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js';
import { retrying } from './retry.js';
import { createStepWriter, type StepWriterOptions } from './step-writer.js';
import type { RunningTraining, TrainingPool } from './training-pool.js';

export interface JobRunnerDeps {
  jobs: JobsRepository;
  pool: TrainingPool;
  logger: Logger;
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
  /** How long writes keep being retried while Postgres is unreachable before the job fails. */
  storeRetryMs: number;
  /** How often Postgres is asked whether a running job was cancelled. */
  cancelPollMs?: number;
}

/**
 * What became of a message: the job ended, it was not ours to run (finished, cancelled or gone),
 * another live worker is training it, or we gave it back to the queue.
 */
export type RunResult = 'finished' | 'skipped' | 'busy' | 'handed-back';

type StopReason = 'cancel' | 'shutdown' | 'timeout' | 'store' | 'lease-lost';

interface ActiveJob {
  training: RunningTraining;
  stopReason?: StopReason;
}

/** Runs queued jobs to a terminal state: claims each, trains it on the pool, records and announces everything. */
export function createJobRunner(deps: JobRunnerDeps) {
  const {
    pool,
    logger,
    publish,
    steps,
    maxAttempts,
    maxTrainingMs,
    checkpointEverySteps,
    storeRetryMs,
    leaseMs,
    cancelPollMs = 500,
  } = deps;
  const active = new Map<string, ActiveJob>();
  let closing = false;
  // While training runs, every write is retried through a database outage (bounded), so no step is lost.
  const durably = <T>(write: () => Promise<T>) =>
    retrying(write, {
      totalMs: storeRetryMs,
      onRetry: (error, attempt) => logger.warn({ err: error, attempt }, 'database write failed; retrying'),
    });
  const jobs: JobsRepository = {
    ...deps.jobs,
    recordSteps: (id, records) => durably(() => deps.jobs.recordSteps(id, records)),
    recordEpoch: (id, metrics) => durably(() => deps.jobs.recordEpoch(id, metrics)),
    saveCheckpoint: (id, checkpoint) => durably(() => deps.jobs.saveCheckpoint(id, checkpoint)),
    finish: (id, status, error, owner) => durably(() => deps.jobs.finish(id, status, error, owner)),
    handBack: (id, owner) => durably(() => deps.jobs.handBack(id, owner)),
    loadCheckpoint: (id) => durably(() => deps.jobs.loadCheckpoint(id)),
    rewindTo: (id, point) => durably(() => deps.jobs.rewindTo(id, point)),
  };

  async function end(
    jobId: string,
    owner: string | undefined,
    status: 'completed' | 'failed' | 'cancelled',
    error: string | null,
    log: Logger,
    details: object = {},
  ) {
    if (await jobs.finish(jobId, status, error ?? undefined, owner)) {
      publish({ type: 'status', jobId, status, error });
    }
    const level = status === 'failed' ? 'warn' : 'info';
    log[level]({ status, ...(error ? { error } : {}), ...details }, `job ${status}`);
  }

  /** Where this attempt starts: the latest checkpoint, or the beginning. The record is rewound to match. */
  async function startingPoint(job: Job, spec: JobSpec, log: Logger): Promise<Checkpoint | undefined> {
    const stored = job.attempts > 1 ? await jobs.loadCheckpoint(job.id) : null;
    const resume = stored ? decodeCheckpoint(stored) : undefined;
    const step = resume?.step ?? 0;
    const progressEpoch = step === 0 ? 0 : Math.ceil(step / stepsPerEpoch(spec));
    if (job.attempts > 1) {
      await jobs.rewindTo(job.id, { step, completedEpochs: resume?.epoch ?? 0, progressEpoch });
      log.info(
        { fromStep: step, attempt: job.attempts },
        resume ? 'resuming from checkpoint' : 'restarting from the beginning',
      );
    }
    return resume;
  }

  async function run(jobId: string): Promise<RunResult> {
    const log = logger.child({ jobId });
    // A worker that is shutting down takes nothing new: the message goes straight back.
    if (closing) return 'handed-back';
    const backend = await pool.ready();
    const owner = randomUUID();
    const claim = await jobs.claim(jobId, backend, leaseMs, owner);
    if (claim.outcome === 'busy') {
      log.info('another worker holds this job; the message will be retried');
      return 'busy';
    }
    if (claim.outcome === 'cancelled') {
      publish({ type: 'status', jobId, status: 'cancelled', error: null });
      log.info({ status: 'cancelled' }, 'job was cancelled while no worker held it');
      return 'finished';
    }
    if (claim.outcome === 'gone') {
      log.info('job is finished, cancelled or gone; message ignored');
      return 'skipped';
    }
    const job = claim.job;
    const crashed = job.attempts - 1 - job.handedBack;
    if (crashed >= maxAttempts) {
      await end(
        jobId,
        owner,
        'failed',
        `gave up after ${crashed} attempts: each time, the worker training this job stopped without finishing it (crash, out of memory or a lost machine)`,
        log,
      );
      return 'finished';
    }
    log.info({ status: 'running', attempt: job.attempts, backend }, 'job running');
    publish({ type: 'status', jobId, status: 'running', error: null });

    // The lease is renewed from the claim on, also while a checkpoint loads; losing it means another
    // worker has taken the job over, and this attempt must stop writing.
    let entry: ActiveJob | undefined;
    let leaseLost = false;
    const lease = setInterval(() => {
      deps.jobs.extendLease(jobId, owner, leaseMs).then(
        (held) => {
          if (held || leaseLost) return;
          leaseLost = true;
          log.warn('lost the lease on this job to another worker; stopping this attempt');
          if (entry) stop(jobId, 'lease-lost');
        },
        (error: unknown) => log.warn({ err: error }, 'could not renew the job lease'),
      );
    }, leaseMs / 3);

    try {
      // The stored spec was validated at submit; parsing again guards against rows from older versions.
      const parsed = parseJobSpec(job.spec, { maxParameters: Number.MAX_SAFE_INTEGER });
      if (!parsed.ok) {
        await end(
          jobId,
          owner,
          'failed',
          `stored spec is no longer valid: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
          log,
        );
        return 'finished';
      }

      let training: RunningTraining;
      const writer = createStepWriter(
        jobs,
        jobId,
        steps,
        (written) => publish({ type: 'steps', jobId, steps: written }),
        () => {
          // Once a write has failed for good there is no point training on: stop and fail the job.
          if (entry) stop(jobId, 'store');
        },
      );
      // Epoch metrics and checkpoints land after the steps before them, in order, one at a time.
      let writes: Promise<void> = Promise.resolve();
      let writeFailure: unknown;
      const afterSteps = (write: () => Promise<void>) => {
        writes = writes.then(async () => {
          if (writeFailure !== undefined || leaseLost) return;
          try {
            await writer.flush();
            await write();
          } catch (error) {
            writeFailure ??= error;
            stop(jobId, 'store');
          }
        });
      };
      try {
        const resume = await startingPoint(job, parsed.spec, log);
        training = await pool.run(
          jobId,
          parsed.spec,
          {
            onSteps: (records) => {
              if (!leaseLost) writer.add(records);
            },
            onEpoch: (metrics) =>
              afterSteps(async () => {
                await jobs.recordEpoch(jobId, metrics);
                publish({ type: 'epoch', jobId, ...metrics });
                log.info(
                  { epoch: metrics.epoch, testAccuracy: metrics.testAccuracy, testLoss: metrics.testLoss },
                  'epoch finished',
                );
              }),
            onCheckpoint: (checkpoint) =>
              afterSteps(async () => {
                await jobs.saveCheckpoint(jobId, encodeCheckpoint(checkpoint));
                log.debug({ step: checkpoint.step }, 'checkpoint stored');
              }),
          },
          { checkpointEverySteps, ...(resume ? { resume } : {}) },
        );
      } catch (error) {
        // Nothing trained yet: give the job back (not counted as a crash) and let the queue retry.
        log.warn({ err: error }, 'could not start training; handing the job back');
        await jobs.handBack(jobId, owner);
        throw error;
      }
      entry = { training };
      active.set(jobId, entry);
      if (closing) stop(jobId, 'shutdown');
      if (leaseLost) stop(jobId, 'lease-lost');
      // The limit counts from the job's first start, across attempts.
      const elapsed = Date.now() - (job.startedAt ?? new Date()).getTime();
      const deadline = setTimeout(() => stop(jobId, 'timeout'), Math.max(0, maxTrainingMs - elapsed));
      const outcome = await training.result.finally(() => {
        clearTimeout(deadline);
        active.delete(jobId);
      });
      await writes;
      if (entry.stopReason === 'lease-lost') {
        log.warn({ outcome: outcome.outcome }, 'attempt abandoned: another worker owns the job now');
        return 'skipped';
      }
      try {
        await writer.close();
        if (writeFailure !== undefined) throw writeFailure;
      } catch (error) {
        await end(jobId, owner, 'failed', `could not store training results: ${(error as Error).message}`, log);
        return 'finished';
      }
      if (outcome.numTensors > 0)
        log.warn({ numTensors: outcome.numTensors }, 'training thread holds tensors after the job');

      if (outcome.outcome === 'failed') {
        await end(jobId, owner, 'failed', outcome.message, log, { code: outcome.code });
      } else if (outcome.outcome === 'completed') {
        // Memory figures on every completion make a leak visible in the logs of a long-lived worker.
        await end(jobId, owner, 'completed', null, log, {
          steps: outcome.steps,
          numTensors: outcome.numTensors,
          rssBytes: process.memoryUsage.rss(),
        });
      } else if (entry.stopReason === 'shutdown') {
        await jobs.handBack(jobId, owner);
        publish({ type: 'status', jobId, status: 'queued', error: null });
        log.info({ status: 'queued', steps: outcome.steps }, 'job checkpointed and handed back to the queue');
        return 'handed-back';
      } else if (entry.stopReason === 'timeout') {
        await end(
          jobId,
          owner,
          'failed',
          `stopped after the maximum training time of ${(maxTrainingMs / 1000).toLocaleString('en-US')} s (step ${outcome.steps})`,
          log,
        );
      } else {
        await end(jobId, owner, 'cancelled', null, log, { steps: outcome.steps });
      }
      return 'finished';
    } finally {
      clearInterval(lease);
    }
  }

  function stop(jobId: string, reason: StopReason): boolean {
    const entry = active.get(jobId);
    if (!entry) return false;
    entry.stopReason ??= reason;
    entry.training.stop(reason === 'shutdown' ? 'checkpoint' : 'stop');
    return true;
  }

  // Cancels are flagged in Postgres by whichever API process received them; asking it often is cheap
  // and needs no extra channel between the API and this worker.
  const cancelPoll = setInterval(() => {
    if (active.size === 0) return;
    jobs.cancelRequested([...active.keys()]).then(
      (ids) => ids.forEach((jobId) => stop(jobId, 'cancel')),
      (error: unknown) => logger.warn({ err: error }, 'could not check for cancelled jobs'),
    );
  }, cancelPollMs);
  cancelPoll.unref();

  return {
    run,
    /** Takes no new job, and stops every job here after a checkpoint so each can be handed back. */
    stopAll(): void {
      closing = true;
      for (const jobId of active.keys()) stop(jobId, 'shutdown');
    },
    close(): void {
      clearInterval(cancelPoll);
    },
    get activeJobs(): number {
      return active.size;
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
