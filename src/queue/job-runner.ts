import type { Logger } from '../logger.js';
import { parseJobSpec } from '../spec/job-spec.js';
import type { JobsRepository } from '../store/jobs-repository.js';
import { createStepWriter, type StepWriterOptions } from './step-writer.js';
import type { RunningTraining, TrainingPool } from './training-pool.js';

export interface JobRunnerDeps {
  jobs: JobsRepository;
  pool: TrainingPool;
  logger: Logger;
  steps: StepWriterOptions;
}

/** What became of a message: the job ended, it was not ours to run, or we gave it back to the queue. */
export type RunResult = 'finished' | 'skipped' | 'handed-back';

type StopReason = 'cancel' | 'shutdown';

/** Runs queued jobs to a terminal state: claims each, trains it on the pool, records everything. */
export function createJobRunner({ jobs, pool, logger, steps }: JobRunnerDeps) {
  const active = new Map<string, { training: RunningTraining; stopReason?: StopReason }>();

  async function run(jobId: string): Promise<RunResult> {
    const log = logger.child({ jobId });
    const backend = await pool.ready();
    const job = await jobs.claim(jobId, backend);
    if (!job) {
      log.info('job is finished or gone; message ignored');
      return 'skipped';
    }
    log.info({ status: 'running', attempt: job.attempts, backend }, 'job running');

    // The stored spec was validated at submit; parsing again guards against rows from older versions.
    const parsed = parseJobSpec(job.spec, { maxParameters: Number.MAX_SAFE_INTEGER });
    if (!parsed.ok) {
      const error = `stored spec is no longer valid: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`;
      await jobs.finish(jobId, 'failed', error);
      log.error({ status: 'failed', error }, 'job failed');
      return 'finished';
    }

    const writer = createStepWriter(jobs, jobId, steps);
    let epochWrites: Promise<void> = Promise.resolve();
    const training = await pool.run(jobId, parsed.spec, {
      onSteps: (records) => writer.add(records),
      onEpoch: (metrics) => {
        // An epoch's row lands after its steps, so readers never see metrics ahead of the history.
        epochWrites = epochWrites.then(async () => {
          await writer.flush();
          await jobs.recordEpoch(jobId, metrics);
          log.info({ epoch: metrics.epoch, testAccuracy: metrics.testAccuracy, testLoss: metrics.testLoss }, 'epoch finished');
        });
      },
    });
    const entry: { training: RunningTraining; stopReason?: StopReason } = { training };
    active.set(jobId, entry);
    const outcome = await training.result.finally(() => active.delete(jobId));
    try {
      await epochWrites;
      await writer.close();
    } catch (error) {
      const message = `could not store training results: ${(error as Error).message}`;
      await jobs.finish(jobId, 'failed', message);
      log.error({ status: 'failed', error: message }, 'job failed');
      return 'finished';
    }
    if (outcome.numTensors > 0) log.warn({ numTensors: outcome.numTensors }, 'training thread holds tensors after the job');

    if (outcome.outcome === 'failed') {
      await jobs.finish(jobId, 'failed', outcome.message);
      log.warn({ status: 'failed', code: outcome.code, error: outcome.message }, 'job failed');
    } else if (outcome.outcome === 'completed') {
      await jobs.finish(jobId, 'completed');
      log.info({ status: 'completed', steps: outcome.steps }, 'job completed');
    } else if (entry.stopReason === 'shutdown') {
      await jobs.requeue(jobId);
      log.info({ status: 'queued', steps: outcome.steps }, 'job handed back to the queue for another worker');
      return 'handed-back';
    } else {
      await jobs.finish(jobId, 'cancelled');
      log.info({ status: 'cancelled', steps: outcome.steps }, 'job cancelled');
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

  return {
    run,
    /** Stops a job this process is training, between batches; it ends cancelled. */
    cancel: (jobId: string) => stop(jobId, 'cancel'),
    /** Stops every job here so each can be handed back to the queue. */
    stopAll(): void {
      for (const jobId of active.keys()) stop(jobId, 'shutdown');
    },
    get activeJobs(): number {
      return active.size;
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
