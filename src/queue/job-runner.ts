import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { parseJobSpec } from '../spec/job-spec.js';
import type { JobsRepository } from '../store/jobs-repository.js';
import { createStepWriter, type StepWriterOptions } from './step-writer.js';
import type { RunningTraining, TrainingPool } from './training-pool.js';

export interface JobRunnerDeps {
  jobs: JobsRepository;
  pool: TrainingPool;
  logger: Logger;
  publish: PublishEvent;
  steps: StepWriterOptions;
  /** How often Postgres is asked whether a running job was cancelled. */
  cancelPollMs?: number;
}

/** What became of a message: the job ended, it was not ours to run, or we gave it back to the queue. */
export type RunResult = 'finished' | 'skipped' | 'handed-back';

type StopReason = 'cancel' | 'shutdown';

interface ActiveJob {
  training: RunningTraining;
  stopReason?: StopReason;
}

/** Runs queued jobs to a terminal state: claims each, trains it on the pool, records and announces everything. */
export function createJobRunner({ jobs, pool, logger, publish, steps, cancelPollMs = 500 }: JobRunnerDeps) {
  const active = new Map<string, ActiveJob>();

  async function end(jobId: string, status: 'completed' | 'failed' | 'cancelled', error: string | null, log: Logger, details: object) {
    if (await jobs.finish(jobId, status, error ?? undefined)) {
      await publish({ type: 'status', jobId, status, error });
    }
    const level = status === 'failed' ? 'warn' : 'info';
    log[level]({ status, ...(error ? { error } : {}), ...details }, `job ${status}`);
  }

  async function run(jobId: string): Promise<RunResult> {
    const log = logger.child({ jobId });
    const backend = await pool.ready();
    const job = await jobs.claim(jobId, backend);
    if (!job) {
      log.info('job is finished, cancelled or gone; message ignored');
      return 'skipped';
    }
    log.info({ status: 'running', attempt: job.attempts, backend }, 'job running');
    await publish({ type: 'status', jobId, status: 'running', error: null });

    // The stored spec was validated at submit; parsing again guards against rows from older versions.
    const parsed = parseJobSpec(job.spec, { maxParameters: Number.MAX_SAFE_INTEGER });
    if (!parsed.ok) {
      const error = `stored spec is no longer valid: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`;
      await end(jobId, 'failed', error, log, {});
      return 'finished';
    }

    const writer = createStepWriter(jobs, jobId, steps, (written) => publish({ type: 'steps', jobId, steps: written }));
    let epochWrites: Promise<void> = Promise.resolve();
    const training = await pool.run(jobId, parsed.spec, {
      onSteps: (records) => writer.add(records),
      onEpoch: (metrics) => {
        // An epoch's row lands after its steps, so readers never see metrics ahead of the history.
        epochWrites = epochWrites.then(async () => {
          await writer.flush();
          await jobs.recordEpoch(jobId, metrics);
          await publish({ type: 'epoch', jobId, ...metrics });
          log.info({ epoch: metrics.epoch, testAccuracy: metrics.testAccuracy, testLoss: metrics.testLoss }, 'epoch finished');
        });
      },
    });
    const entry: ActiveJob = { training };
    active.set(jobId, entry);
    const outcome = await training.result.finally(() => active.delete(jobId));
    try {
      await epochWrites;
      await writer.close();
    } catch (error) {
      await end(jobId, 'failed', `could not store training results: ${(error as Error).message}`, log, {});
      return 'finished';
    }
    if (outcome.numTensors > 0) log.warn({ numTensors: outcome.numTensors }, 'training thread holds tensors after the job');

    if (outcome.outcome === 'failed') {
      await end(jobId, 'failed', outcome.message, log, { code: outcome.code });
    } else if (outcome.outcome === 'completed') {
      await end(jobId, 'completed', null, log, { steps: outcome.steps });
    } else if (entry.stopReason === 'shutdown') {
      await jobs.requeue(jobId);
      await publish({ type: 'status', jobId, status: 'queued', error: null });
      log.info({ status: 'queued', steps: outcome.steps }, 'job handed back to the queue for another worker');
      return 'handed-back';
    } else {
      await end(jobId, 'cancelled', null, log, { steps: outcome.steps });
    }
    return 'finished';
  }

  function stop(jobId: string, reason: StopReason): boolean {
    const entry = active.get(jobId);
    if (!entry) return false;
    entry.stopReason ??= reason;
    entry.training.stop();
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
    /** Stops every job here so each can be handed back to the queue. */
    stopAll(): void {
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
