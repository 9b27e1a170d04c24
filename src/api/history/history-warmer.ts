import type { JobEvent } from '../../events/job-events.js';
import type { Logger } from '../../logger.js';
import { terminalStatuses } from '../../store/jobs-repository.js';
import type { EventHub } from '../streams/event-hub.js';

const terminal = new Set<string>(terminalStatuses);

/**
 * Reads the history of each job that finishes into the cache, one job at a time in the background,
 * so the first visit of its run page finds it ready. Failures are only logged: the page reads it then.
 */
export function createHistoryWarmer(warm: (jobId: string) => Promise<void>, logger: Logger, maxWaiting = 100) {
  const waiting = new Set<string>();
  let running: Promise<void> | undefined;

  async function drain(): Promise<void> {
    for (let [jobId] = waiting; jobId !== undefined; [jobId] = waiting) {
      waiting.delete(jobId);
      try {
        await warm(jobId);
      } catch (error) {
        logger.warn({ err: error, jobId }, 'could not cache the history of a finished job');
      }
    }
    running = undefined;
  }

  /** Queues a job; past `maxWaiting` waiting jobs, more are left for their first visit to read. */
  function add(jobId: string): void {
    if (waiting.size >= maxWaiting) return;
    waiting.add(jobId);
    running ??= drain();
  }

  return {
    add,
    /** Handles every job event: a job reaching a final status is queued. */
    onEvent(event: JobEvent): void {
      if (event.type === 'status' && terminal.has(event.status)) add(event.jobId);
    },
    /** Resolves once nothing is being read or waiting. */
    idle: async (): Promise<void> => {
      while (running) await running;
    },
  };
}

/** Warms finished jobs' histories as their final status comes through the hub; resolves to the unsubscribe. */
export function warmFinishedHistories(hub: EventHub, warm: (jobId: string) => Promise<void>, logger: Logger) {
  const warmer = createHistoryWarmer(warm, logger);
  return hub.subscribeAll((event) => warmer.onEvent(event));
}
