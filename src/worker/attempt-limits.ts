import type { Job } from '../store/jobs-repository.js';

/** Attempts of a job whose worker stopped without finishing or handing it back (crash, OOM, lost machine). */
export function crashedAttempts(job: Pick<Job, 'attempts' | 'handedBack'>): number {
  // The attempt being made now is not one of them.
  return job.attempts - 1 - job.handedBack;
}

/** The error of a job given up on after `crashed` crashed attempts. */
export function gaveUpError(crashed: number): string {
  return `gave up after ${crashed} attempts: each time, the worker training this job stopped without finishing it (crash, out of memory or a lost machine)`;
}

/**
 * Calls `onExpired` once the job has trained for `maxTrainingMs` in all, counted from its first
 * start across attempts; returns the function that clears the deadline.
 */
export function startDeadline(
  job: Pick<Job, 'startedAt'>,
  maxTrainingMs: number,
  onExpired: () => void,
  now = Date.now(),
): () => void {
  const elapsed = now - (job.startedAt ?? new Date(now)).getTime();
  const timer = setTimeout(onExpired, Math.max(0, maxTrainingMs - elapsed));
  return () => clearTimeout(timer);
}
