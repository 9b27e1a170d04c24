import { unwrap, type ConnectionChange, type Job } from '@trainer/client';
import type { Context } from './context.js';
import { Interrupted, RunDidNotComplete } from './exit-codes.js';
import { createJobDisplay, summaryText } from './job-display.js';
import { onInterrupt } from './interrupt.js';

export interface FollowOptions {
  /** Ctrl-C cancels the job instead of only detaching from it. */
  cancelOnInterrupt?: boolean;
}

/** A lost connection is retried with backoff: about two and a half minutes before giving up (exit 3). */
const backoff = { initialDelayMs: 250, factor: 2, maxDelayMs: 5000, maxAttempts: 30 };

/** What to tell the user of a connection change: only a lost connection and when it is tried again. */
function connectionNotice(change: ConnectionChange): string | null {
  if (change.state !== 'reconnecting' || change.retryInMs === null) return null;
  return `connection lost (${change.reason ?? 'closed'}); trying again in ${(change.retryInMs / 1000).toFixed(1)} s (attempt ${change.attempt})`;
}

/**
 * Follows `job` to its end as the output asks (bars, lines or JSON lines), then prints its summary.
 * Throws RunDidNotComplete when it failed or was cancelled, Interrupted on Ctrl-C (after saying how
 * to attach again, and cancelling the job only with `cancelOnInterrupt`).
 */
export async function followJob({ trainer, output }: Context, job: Job, options: FollowOptions = {}): Promise<Job> {
  const display = createJobDisplay(job, output);
  let reconnecting = false;
  const followed = trainer.followJob(job.id, {
    backoff,
    onMessage(message) {
      if (message.type === 'steps') display.steps(message);
      else if (message.type === 'epoch') display.epoch(message);
      else display.status(message);
    },
    onConnection(change) {
      const notice = connectionNotice(change);
      if (notice) display.notice(notice);
      if (change.state === 'reconnecting') reconnecting = true;
      else if (change.state === 'live' && reconnecting) {
        reconnecting = false;
        display.notice('reconnected');
      }
    },
  });
  let interrupted = false;
  const stopListening = onInterrupt(() => {
    interrupted = true;
    followed.close();
  });
  try {
    await followed.finished;
  } finally {
    stopListening();
    display.close();
  }
  if (interrupted) {
    if (options.cancelOnInterrupt) {
      await unwrap(trainer.api.POST('/jobs/{id}/cancel', { params: { path: { id: job.id } } }));
      output.warn(`cancelled ${job.id}`);
    } else {
      output.warn(`detached; ${job.id} goes on. Attach again with: trainer follow ${job.id}`);
    }
    throw new Interrupted();
  }
  const ended = await unwrap(trainer.api.GET('/jobs/{id}', { params: { path: { id: job.id } } }));
  output.result({ type: 'summary', job: ended }, `\n${summaryText(ended, output)}`);
  if (ended.status !== 'completed') throw new RunDidNotComplete(`${ended.status}`);
  return ended;
}
