import { apiErrorOf } from './errors.js';
import type { StreamPlan } from './stream.js';
import type { AllJobsMessage, JobStreamMessage, StatusMessage, SweepEvent, TrainerApi } from './types.js';

// What each stream replays when it is opened again, and how this client keeps each message once:
// a job's stream is reopened from the last step seen (`?since=`) and repeats its epochs and status; a
// sweep's replays its whole story, summed up; WS /events has no replay (what happened while it was
// down is not sent again).

/** Throws the API's refusal of `call` (a 4xx or 5xx answer); resolves on success or without an answer. */
async function refusalOf(call: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const { error, response } = await call;
  if (!response.ok) throw apiErrorOf(response, error);
}

export function jobPlan(
  api: TrainerApi,
  socketUrl: (path: string) => string,
  jobId: string,
  since: number,
): StreamPlan<JobStreamMessage, StatusMessage> {
  let lastStep = since;
  const epochs = new Set<number>();
  let status: StatusMessage | null = null;
  return {
    url: () => socketUrl(`/jobs/${encodeURIComponent(jobId)}/events?since=${lastStep}`),
    accept(message) {
      if (message.type === 'steps') {
        const steps = message.steps.filter((step) => step.step > lastStep);
        if (steps.length === 0) return null;
        lastStep = steps[steps.length - 1]!.step;
        return { ...message, steps };
      }
      if (message.type === 'epoch') {
        if (epochs.has(message.epoch)) return null;
        epochs.add(message.epoch);
        return message;
      }
      if (status?.status === message.status) return null;
      status = message;
      return message;
    },
    end: () => status,
    probe: () => refusalOf(api.GET('/jobs/{id}', { params: { path: { id: jobId } } })),
  };
}

/** Whether `key` was seen before; it counts as seen from now on. */
function once(seen: Set<string>, key: string): boolean {
  if (seen.has(key)) return true;
  seen.add(key);
  return false;
}

export function sweepPlan(
  api: TrainerApi,
  socketUrl: (path: string) => string,
  sweepId: string,
): StreamPlan<SweepEvent, SweepEvent> {
  const started = new Set<string>();
  const ended = new Set<string>();
  let best: string | null = null;
  let finish: SweepEvent | null = null;
  const seenBefore = (event: SweepEvent): boolean => {
    const run = event.jobId ?? '';
    switch (event.type) {
      case 'run-started':
        return once(started, run);
      case 'run-finished':
      case 'run-stopped':
        return once(ended, run);
      case 'new-best': {
        const key = `${run} ${event.objective}`;
        if (key === best) return true;
        best = key;
        return false;
      }
      case 'sweep-finished':
        if (finish) return true;
        finish = event;
        return false;
    }
  };
  return {
    url: () => socketUrl(`/sweeps/${encodeURIComponent(sweepId)}/events`),
    accept: (event) => (seenBefore(event) ? null : event),
    end: () => finish,
    probe: () => refusalOf(api.GET('/sweeps/{id}', { params: { path: { id: sweepId } } })),
  };
}

export function allJobsPlan(api: TrainerApi, socketUrl: (path: string) => string): StreamPlan<AllJobsMessage, never> {
  return {
    url: () => socketUrl('/events'),
    accept: (message) => message,
    end: () => null,
    // Whether the key may read jobs at all: the stream needs no more.
    probe: () => refusalOf(api.GET('/whoami')),
  };
}
