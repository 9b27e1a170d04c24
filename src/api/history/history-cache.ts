import { ByteLru } from '../../inference/byte-lru.js';
import { terminalStatuses, type JobStatus, type StepRecord } from '../../store/jobs-repository.js';

/** A finished job's history as GET /jobs/:id/history?points= answers it, held whole (at most `points` steps). */
export interface SampledHistory {
  steps: readonly StepRecord[];
  /** Steps recorded when downsampled; null when `steps` is the whole history. */
  totalSteps: number | null;
  downsampling: 'lttb' | null;
}

const finished = new Set<JobStatus>(terminalStatuses);

// What V8 holds per step: an object of three numbers (two of them doubles) and its array slot.
const bytesPerStep = 80;
const bytesPerEntry = 200;

/** An estimate of the memory a history holds, for the cache's bound. */
export const historyBytes = (history: SampledHistory) => bytesPerEntry + history.steps.length * bytesPerStep;

/**
 * Downsampled histories of finished jobs (completed, failed, cancelled: theirs never changes), kept
 * by job and points, least recently used first out once their bytes pass `maxBytes` (0: none kept).
 * It knows nothing of owners: callers check that the viewer may see the job before asking it.
 */
export function createHistoryCache(maxBytes: number) {
  const entries = new ByteLru<SampledHistory>(maxBytes);
  // One read per key at a time: a request that arrives while the history is being warmed waits for it.
  const loading = new Map<string, Promise<SampledHistory>>();
  const keyOf = (jobId: string, points: number) => `${jobId}/${points}`;

  const keeps = (job: { status: JobStatus }) => finished.has(job.status);

  return {
    /** Whether a job's histories are kept: only once it has finished. */
    keeps,

    /**
     * The history of `job` downsampled to `points`: the one kept if any, else read with `load` and,
     * when the job has finished, kept. A job still queued or running is always read.
     */
    async get(
      job: { id: string; status: JobStatus },
      points: number,
      load: () => Promise<SampledHistory>,
    ): Promise<SampledHistory> {
      if (!keeps(job)) return load();
      const key = keyOf(job.id, points);
      const cached = entries.get(key);
      if (cached) return cached;
      const pending = loading.get(key);
      if (pending) return pending;
      const read = load();
      loading.set(key, read);
      try {
        const history = await read;
        const bytes = historyBytes(history);
        // Kept only if still wanted (the job was not deleted meanwhile) and not bigger than the whole cache.
        if (loading.get(key) === read && bytes <= maxBytes) entries.set(key, history, bytes);
        return history;
      } finally {
        if (loading.get(key) === read) loading.delete(key);
      }
    },

    /** Whether (jobId, points) is held, without marking it used. */
    has: (jobId: string, points: number): boolean => entries.keys().includes(keyOf(jobId, points)),

    /** Forgets every history of a job (it was deleted), including one being read. */
    drop(jobId: string): void {
      const prefix = `${jobId}/`;
      for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key);
      for (const key of [...loading.keys()]) if (key.startsWith(prefix)) loading.delete(key);
    },

    get bytes(): number {
      return entries.bytes;
    },
  };
}

export type HistoryCache = ReturnType<typeof createHistoryCache>;
