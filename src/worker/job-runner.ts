import { randomUUID } from 'node:crypto';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import type { ClaimResult } from '../store/jobs-repository.js';
import { durableCheckpoints, durableJobs, durableModels, type RunnerStore } from './durable-jobs.js';
import type { StopReason } from './final-status.js';
import type { CheckpointStore } from './durable-jobs.js';
import { JobAttempt, type AttemptSettings, type RunResult } from './job-attempt.js';
import type { ModelStore } from './model-keeper.js';
import type { TrainingPool } from './training-pool.js';

export type { RunResult } from './job-attempt.js';

export interface JobRunnerDeps extends AttemptSettings {
  jobs: RunnerStore;
  /** Where each epoch's trained model is kept. */
  models: ModelStore;
  /** Where each finished epoch's checkpoint is kept and forks find theirs; kept only while a job runs without it. */
  checkpoints?: CheckpointStore;
  pool: Pick<TrainingPool, 'ready' | 'run'>;
  logger: Logger;
  /** How long writes keep being retried while Postgres is unreachable before the job fails. */
  storeRetryMs: number;
  /** How long storing a model's or checkpoint's bytes is retried while the artifact store is down; storeRetryMs unless told. */
  artifactRetryMs?: number;
  /**
   * How often Postgres is asked whether a held job was cancelled: the fallback for a cancel
   * announcement lost on its way (or not sent, during a Redis outage).
   */
  cancelPollMs?: number;
}

/** What a message comes to when its job could not be claimed, announced and logged. */
function notClaimed(
  outcome: Exclude<ClaimResult['outcome'], 'claimed'>,
  jobId: string,
  publish: PublishEvent,
  log: Logger,
): RunResult {
  if (outcome === 'busy') {
    log.info('another worker holds this job; the message will be retried');
    return 'busy';
  }
  if (outcome === 'cancelled') {
    publish({ type: 'status', jobId, status: 'cancelled', error: null });
    log.info({ status: 'cancelled' }, 'job was cancelled while no worker held it');
    return 'finished';
  }
  log.info('job is finished, cancelled or gone; message ignored');
  return 'skipped';
}

/** Runs queued jobs to a terminal state: claims each, trains it on the pool, records and announces everything. */
export function createJobRunner(deps: JobRunnerDeps) {
  const { logger, publish, leaseMs } = deps;
  const artifactRetryMs = deps.artifactRetryMs ?? deps.storeRetryMs;
  // Every attempt this worker holds, from its claim to its end.
  const held = new Map<string, JobAttempt>();
  let closing = false;
  const context = {
    ...deps,
    jobs: durableJobs(deps.jobs, deps.storeRetryMs, logger),
    models: durableModels(deps.models, deps.storeRetryMs, logger, artifactRetryMs),
    ...(deps.checkpoints
      ? { checkpoints: durableCheckpoints(deps.checkpoints, deps.storeRetryMs, logger, artifactRetryMs) }
      : {}),
    extendLease: (id: string, owner: string, ms: number) => deps.jobs.extendLease(id, owner, ms),
  };

  async function run(jobId: string): Promise<RunResult> {
    const log = logger.child({ jobId });
    // A worker that is shutting down takes nothing new: the message goes straight back.
    if (closing) return 'handed-back';
    const backend = await deps.pool.ready();
    const owner = randomUUID();
    const claim = await context.jobs.claim(jobId, backend, leaseMs, owner);
    if (claim.outcome !== 'claimed') return notClaimed(claim.outcome, jobId, publish, log);
    const attempt = new JobAttempt(claim.job, owner, context, log);
    held.set(jobId, attempt);
    if (closing) attempt.stop('shutdown');
    try {
      return await attempt.run();
    } finally {
      if (held.get(jobId) === attempt) held.delete(jobId);
    }
  }

  /** Stops the attempt at `jobId` if this worker holds one; false when it holds none. */
  function stop(jobId: string, reason: StopReason): boolean {
    const attempt = held.get(jobId);
    attempt?.stop(reason);
    return attempt !== undefined;
  }

  const cancelPoll = pollCancels(
    deps.jobs,
    () => [...held.keys()],
    (jobId) => stop(jobId, 'cancel'),
    deps,
    logger,
  );

  return {
    run,
    /**
     * Stops the job at once if this worker holds it (a cancel was committed for it); a job held
     * elsewhere, or by no one, is ignored. True when it was held here.
     */
    cancel(jobId: string): boolean {
      return stop(jobId, 'cancel');
    },
    /** Takes no new job, and stops every job here after a checkpoint so each can be handed back. */
    stopAll(): void {
      closing = true;
      for (const jobId of held.keys()) stop(jobId, 'shutdown');
    },
    close(): void {
      clearInterval(cancelPoll);
    },
    /** Jobs this worker holds, from claim to end. */
    get activeJobs(): number {
      return held.size;
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;

/** Asks Postgres every `cancelPollMs` which held jobs were cancelled, and cancels those. */
function pollCancels(
  jobs: Pick<RunnerStore, 'cancelRequested'>,
  heldIds: () => string[],
  cancel: (jobId: string) => void,
  { cancelPollMs = 500 }: Pick<JobRunnerDeps, 'cancelPollMs'>,
  logger: Logger,
): NodeJS.Timeout {
  const timer = setInterval(() => {
    const ids = heldIds();
    if (ids.length === 0) return;
    jobs.cancelRequested(ids).then(
      (cancelled) => cancelled.forEach(cancel),
      (error: unknown) => logger.warn({ err: error }, 'could not check for cancelled jobs'),
    );
  }, cancelPollMs);
  timer.unref();
  return timer;
}
