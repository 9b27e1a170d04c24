import { socketProtocols } from './auth';
import { socketUrl, type EpochMetrics, type JobStatus, type StepLoss } from './api';

// WebSockets that survive broken connections: a dropped socket shows as "reconnecting" and is opened
// again with backoff, a job's stream from the last step seen (`?since=`), so the API's guarantee (no
// gap, no duplicate) carries over the reconnect. Steps at or before the last seen are dropped anyway.

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed';

interface StreamHandlers {
  onConnection(state: Connection): void;
}

export interface JobStreamHandlers extends StreamHandlers {
  onSteps(steps: StepLoss[]): void;
  onEpoch(metrics: EpochMetrics): void;
  onStatus(status: JobStatus, error: string | null): void;
}

export interface AllJobsHandlers extends StreamHandlers {
  onEpoch(jobId: string, metrics: EpochMetrics): void;
  onStatus(jobId: string, status: JobStatus, error: string | null): void;
}

type Message =
  | { type: 'steps'; jobId: string; steps: StepLoss[] }
  | ({ type: 'epoch'; jobId: string } & EpochMetrics)
  | { type: 'status'; jobId: string; status: JobStatus; error: string | null };

const backoffMs = [250, 500, 1000, 2000, 4000];

/** Keeps a WebSocket open until `stop`; `url()` is asked again for every (re)connection. */
export function keepOpen<M = Message>(url: () => string, onMessage: (message: M) => void, handlers: StreamHandlers) {
  let socket: WebSocket | null = null;
  let stopped = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const connect = () => {
    if (stopped) return;
    handlers.onConnection(failures === 0 ? 'connecting' : 'reconnecting');
    // The key goes as a subprotocol, asked for again on every (re)connection: it may have changed.
    const current = new WebSocket(url(), socketProtocols());
    socket = current;
    current.onopen = () => {
      failures = 0;
      handlers.onConnection('live');
    };
    current.onmessage = (event: MessageEvent<string>) => onMessage(JSON.parse(event.data) as M);
    current.onclose = (event) => {
      if (stopped || socket !== current) return;
      // 1000: the job (or sweep) finished and everything was sent. Anything else: try again from where we are.
      if (event.code === 1000) {
        handlers.onConnection('closed');
        return;
      }
      failures += 1;
      handlers.onConnection('reconnecting');
      timer = setTimeout(connect, backoffMs[Math.min(failures - 1, backoffMs.length - 1)]);
    };
  };
  connect();
  const handle = {
    stop() {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
    },
    /** Drops the connection as a network failure would (for tests and the "reconnect" button). */
    drop() {
      socket?.close(4000, 'dropped by the page');
    },
  };
  openStreams.add(handle);
  return {
    drop: () => handle.drop(),
    stop: () => {
      openStreams.delete(handle);
      handle.stop();
    },
  };
}

const openStreams = new Set<{ drop(): void }>();

/** Drops every open stream at once, as a network failure would: they show "reconnecting" and resume. */
export function dropAllStreams(): void {
  for (const stream of openStreams) stream.drop();
}

/** Follows one job from after `since`: steps, epoch metrics and statuses, each once. */
export function followJob(jobId: string, since: number, handlers: JobStreamHandlers) {
  let lastStep = since;
  const seenEpochs = new Set<number>();
  return keepOpen(
    () => socketUrl(`/jobs/${encodeURIComponent(jobId)}/events?since=${lastStep}`),
    (message) => {
      if (message.type === 'steps') {
        const fresh = message.steps.filter((step) => step.step > lastStep);
        if (fresh.length === 0) return;
        lastStep = fresh[fresh.length - 1]!.step;
        handlers.onSteps(fresh);
      } else if (message.type === 'epoch') {
        if (seenEpochs.has(message.epoch)) return;
        seenEpochs.add(message.epoch);
        const { type: _type, jobId: _job, ...metrics } = message;
        handlers.onEpoch(metrics);
      } else handlers.onStatus(message.status, message.error);
    },
    handlers,
  );
}

/** Status and epoch events of every job (WS /events). */
export function followAllJobs(handlers: AllJobsHandlers) {
  return keepOpen(
    () => socketUrl('/events'),
    (message) => {
      if (message.type === 'epoch') {
        const { type: _type, jobId, ...metrics } = message;
        handlers.onEpoch(jobId, metrics);
      } else if (message.type === 'status') handlers.onStatus(message.jobId, message.status, message.error);
    },
    handlers,
  );
}
