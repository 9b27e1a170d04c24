import createClient from 'openapi-fetch';
import { allJobsPlan, jobPlan, sweepPlan } from './follow.js';
import type { paths } from './schema.js';
import { follow, type Follow, type FollowOptions, type WebSocketConstructor } from './stream.js';
import type { AllJobsMessage, JobStreamMessage, StatusMessage, SweepEvent, TrainerApi } from './types.js';

/** An API key, or a function asked before each request and connection (a key that may change). */
export type KeySource = string | null | undefined | (() => string | null | undefined);

export interface TrainerClientOptions {
  /** The API's address: `http://127.0.0.1:3000` by default, the page's own origin in a browser. */
  baseUrl?: string;
  apiKey?: KeySource;
  /** The fetch to use (a test's, or one with a proxy agent); the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** For the live streams: the global WebSocket by default (browsers, Node 22+); on Node 20 pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
}

export interface FollowJobOptions extends FollowOptions<JobStreamMessage> {
  /** Only steps after this one (the last one the caller has). */
  since?: number;
}

export interface TrainerClient {
  /** `api.GET('/jobs/{id}', { params: { path: { id } } })` resolves with `{ data }` or `{ error }`; see `settle` and `unwrap`. */
  readonly api: TrainerApi;
  readonly baseUrl: string;
  /**
   * A job's steps, epochs and statuses, live, each once: replayed from `since`, then as they happen,
   * reopened from the last step seen when the connection breaks (an API restart included). Ends
   * after the job's final status, which `finished` resolves with.
   */
  followJob(jobId: string, options?: FollowJobOptions): Follow<JobStreamMessage, StatusMessage>;
  /** A sweep's runs starting, finishing and stopping, new bests and its end, each once across reconnects. */
  followSweep(sweepId: string, options?: FollowOptions<SweepEvent>): Follow<SweepEvent, SweepEvent>;
  /** Epochs and statuses of every job the key may see, from now on, until closed. */
  followJobs(options?: FollowOptions<AllJobsMessage>): Follow<AllJobsMessage, never>;
}

const keyOf = (source: KeySource): string | null => (typeof source === 'function' ? source() : source) ?? null;

function defaultBaseUrl(): string {
  const page = (globalThis as { location?: { origin?: string } }).location;
  return page?.origin ?? 'http://127.0.0.1:3000';
}

/** ws:// or wss:// of an API path. */
function socketUrlOf(baseUrl: string) {
  return (path: string): string => {
    const url = new URL(baseUrl.replace(/\/$/, '') + path);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  };
}

/** A client of the trainer API at `options.baseUrl`. */
export function createTrainerClient(options: TrainerClientOptions = {}): TrainerClient {
  const baseUrl = options.baseUrl ?? defaultBaseUrl();
  const api = createClient<paths>({ baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  api.use({
    onRequest({ request }) {
      const key = keyOf(options.apiKey);
      if (key && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${key}`);
      return request;
    },
  });
  const socketUrl = socketUrlOf(baseUrl);
  const transport = {
    get WebSocket(): WebSocketConstructor {
      const constructor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (!constructor)
        throw new Error('no WebSocket here: pass one as the WebSocket option (the ws package on Node 20)');
      return constructor;
    },
    // Browsers cannot set headers on a WebSocket: the key travels as the `bearer.<key>` subprotocol,
    // beside `trainer`, the one the server answers with (it never echoes the key).
    protocols() {
      const key = keyOf(options.apiKey);
      return key ? ['trainer', `bearer.${key}`] : [];
    },
  };
  return {
    api,
    baseUrl,
    followJob: (jobId, { since = 0, ...rest } = {}) => follow(transport, jobPlan(api, socketUrl, jobId, since), rest),
    followSweep: (sweepId, followOptions) => follow(transport, sweepPlan(api, socketUrl, sweepId), followOptions),
    followJobs: (followOptions) => follow(transport, allJobsPlan(api, socketUrl), followOptions),
  };
}
