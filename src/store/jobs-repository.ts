import type { PrismaClient } from './database.js';
import { createCheckpointsRepository, type CheckpointsRepository } from './jobs/checkpoints.js';
import { createEpochMetricsRepository, type EpochMetricsRepository } from './jobs/epoch-metrics.js';
import { createHistorySamplesRepository, type HistorySamplesRepository } from './jobs/history-samples.js';
import { createIdempotencyKeysRepository, type IdempotencyKeysRepository } from './jobs/idempotency-keys.js';
import { createJobDeletionRepository, type JobDeletionRepository } from './jobs/job-deletion.js';
import { createJobEditsRepository, type JobEditsRepository } from './jobs/job-edits.js';
import { createKeptCheckpointsRepository, type KeptCheckpointsRepository } from './jobs/kept-checkpoints.js';
import { createJobRecordsRepository, type JobRecordsRepository } from './jobs/job-records.js';
import { createRunListingRepository, type RunListingRepository } from './jobs/run-listing.js';
import { createStepHistoryRepository, type StepHistoryRepository } from './jobs/step-history.js';

// One import path for everything the store says about jobs; each part also stands alone in jobs/.
export type { JobStatus } from './generated/enums.js';
export { jobStatuses, terminalStatuses, type TerminalStatus } from './jobs/sql.js';
export type { EpochMetric, Job, JobOutcomeFields, JobSpecField, JobWithEpochs, NewJob } from './jobs/rows.js';
export {
  createJobRecordsRepository,
  type CancelResult,
  type ClaimResult,
  type JobRecordsRepository,
  type OrphanedJob,
} from './jobs/job-records.js';
export {
  createEpochMetricsRepository,
  type EpochEvaluation,
  type EpochMetricsRepository,
  type EpochRecord,
} from './jobs/epoch-metrics.js';
export {
  createStepHistoryRepository,
  type HistoryRange,
  type StepHistoryRepository,
  type StepRecord,
} from './jobs/step-history.js';
export {
  createRunListingRepository,
  runSorts,
  type ListedRun,
  type RunListingRepository,
  type RunPage,
  type RunQuery,
  type RunSort,
} from './jobs/run-listing.js';
export {
  createHistorySamplesRepository,
  type HistorySamplesRepository,
  type StoredSample,
} from './jobs/history-samples.js';
export { createCheckpointsRepository, type CheckpointsRepository, type StoredCheckpoint } from './jobs/checkpoints.js';
export {
  createIdempotencyKeysRepository,
  type IdempotencyKeysRepository,
  type KeyedJob,
} from './jobs/idempotency-keys.js';
export { createJobDeletionRepository, type DeleteJobResult, type JobDeletionRepository } from './jobs/job-deletion.js';
export { createJobEditsRepository, type JobEdit, type JobEditsRepository } from './jobs/job-edits.js';
export {
  createKeptCheckpointsRepository,
  type ForkChild,
  type ForkResumed,
  type ForkStart,
  type KeptCheckpoint,
  type KeptCheckpointSummary,
  type KeptCheckpointsRepository,
  type NewFork,
  type NewKeptCheckpoint,
} from './jobs/kept-checkpoints.js';

/** Every read and write of jobs and what hangs off them: one repository per aggregate, composed. */
export type JobsRepository = JobRecordsRepository &
  EpochMetricsRepository &
  StepHistoryRepository &
  HistorySamplesRepository &
  RunListingRepository &
  CheckpointsRepository &
  KeptCheckpointsRepository &
  IdempotencyKeysRepository &
  JobDeletionRepository &
  JobEditsRepository;

/** All the job repositories on one Prisma client, for callers that use most of them. */
export function createJobsRepository(prisma: PrismaClient): JobsRepository {
  return {
    ...createJobRecordsRepository(prisma),
    ...createEpochMetricsRepository(prisma),
    ...createStepHistoryRepository(prisma),
    ...createHistorySamplesRepository(prisma),
    ...createRunListingRepository(prisma),
    ...createCheckpointsRepository(prisma),
    ...createKeptCheckpointsRepository(prisma),
    ...createIdempotencyKeysRepository(prisma),
    ...createJobDeletionRepository(prisma),
    ...createJobEditsRepository(prisma),
  };
}
