import { dashboardHistoryPoints } from '../../domain/history-points.js';
import type { JobsRepository, JobWithEpochs, StepRecord } from '../../store/jobs-repository.js';
import { lttbRuns } from '../../history/downsample.js';
import type { SampledHistory } from './history-cache.js';

/** What downsampling a history reads and stores. */
export type SampleStore = Pick<
  JobsRepository,
  'historyExtent' | 'historyPages' | 'historyRuns' | 'storedSample' | 'storeSample'
>;

// The points whose samples of finished jobs are stored in Postgres: the run page's, which a fresh API
// process must answer fast. Only these: stored for any count a client names, a job could gain a row
// per count.
const storedPoints = new Set([dashboardHistoryPoints]);

/** A job's loss history downsampled (LTTB) to at most `points`, read once in runs of steps. */
export async function sampledHistory(
  jobs: SampleStore,
  jobId: string,
  points: number,
  extent?: { count: number; lastStep: number },
): Promise<StepRecord[]> {
  const { count, lastStep } = extent ?? (await jobs.historyExtent(jobId));
  return lttbRuns(count, points, () => jobs.historyRuns(jobId, { through: lastStep }));
}

/** The history downsampled to `points`, or whole (in one array) when it has no more steps than that. */
export async function readSampled(jobs: SampleStore, jobId: string, points: number): Promise<SampledHistory> {
  const extent = await jobs.historyExtent(jobId);
  if (extent.count > points) {
    const steps = await sampledHistory(jobs, jobId, points, extent);
    return { steps, totalSteps: extent.count, downsampling: 'lttb' };
  }
  const steps: StepRecord[] = [];
  for await (const page of jobs.historyPages(jobId, { through: extent.lastStep })) steps.push(...page);
  return { steps, totalSteps: null, downsampling: null };
}

/**
 * A finished job's history downsampled to `points`: its stored sample when there is one, else
 * computed and, for the points whose samples are stored, stored (runs that finished before samples
 * were stored, or whose sample was not stored when they ended, get one on their first read). A
 * sample that cannot be stored goes to `unstored`; the history is answered all the same.
 */
export async function readFinished(
  jobs: SampleStore,
  job: JobWithEpochs,
  points: number,
  unstored: (jobId: string, error: unknown) => void,
): Promise<SampledHistory> {
  if (!storedPoints.has(points)) return readSampled(jobs, job.id, points);
  const stored = await jobs.storedSample(job.id, points);
  if (stored) return { steps: stored.steps, totalSteps: stored.totalSteps, downsampling: 'lttb' };
  const computed = await readSampled(jobs, job.id, points);
  // A history with no more steps than `points` is read whole, from as few chunks: nothing to store.
  if (computed.totalSteps !== null) {
    const sample = { steps: computed.steps, totalSteps: computed.totalSteps };
    // Stored only if no write of the job came after `job` was read, before its steps were.
    await jobs.storeSample(job.id, points, sample, job.updatedAt).catch((error: unknown) => unstored(job.id, error));
  }
  return computed;
}
