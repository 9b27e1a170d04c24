import { TrainerApiError, TrainerUnreachable, type TrainerError } from './errors.js';

// A WebSocket that outlives broken connections and API restarts: a dropped socket is opened again
// after a growing delay, from where the stream left off, until the server ends the stream (close code
// 1000), the caller stops it, or the server refuses what is followed (an unknown id, a revoked key).

/** The part of a WebSocket this client uses: the browser's, Node's (22+) or the `ws` package's. */
export interface WebSocketLike {
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  close(code?: number, reason?: string): void;
}

// Method syntax, so any of those WebSockets' own event types fit (their handlers take richer events).
type Handler<Event> = { handle(event: Event): void }['handle'];

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `connecting` the first time, `reconnecting` while a broken connection is reopened, `closed` at the end. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface ConnectionChange {
  state: ConnectionState;
  /** Failed connections in a row. */
  attempt: number;
  /** With `reconnecting`: how long until the next try. */
  retryInMs: number | null;
  /** With `reconnecting`: why the last connection ended. */
  reason: string | null;
}

/** How long to wait between tries: `initialDelayMs`, times `factor` per failure in a row, at most `maxDelayMs`. */
export interface Backoff {
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** Failed connections in a row after which the stream gives up (with a TrainerUnreachable). */
  maxAttempts: number;
}

export const defaultBackoff: Backoff = { initialDelayMs: 250, factor: 2, maxDelayMs: 5000, maxAttempts: Infinity };

export interface FollowOptions<Message> {
  /** Each message once, in order. Without it, iterate the stream (`for await`). */
  onMessage?(message: Message): void;
  onConnection?(change: ConnectionChange): void;
  /** Stops following when aborted. */
  signal?: AbortSignal;
  backoff?: Partial<Backoff>;
}

/**
 * A followed stream: iterate it (`for await`) or pass `onMessage`. `finished` resolves once the server
 * has ended it (or `close` was called) with its last word (a job's final status, a sweep's end; null
 * when there is none), and rejects with a TrainerApiError when the server refuses what is followed, or
 * a TrainerUnreachable after `backoff.maxAttempts` failed connections.
 */
export interface Follow<Message, End> extends AsyncIterable<Message> {
  readonly finished: Promise<End | null>;
  /** Stops following. */
  close(): void;
  /** Drops the connection as a network failure would: it is opened again, from where it left off. */
  reconnect(): void;
}

/** What a kind of stream knows: where it is now, which messages are new, and why it may be refused. */
export interface StreamPlan<Message, End> {
  /** The URL to connect to now (a job's asks for the steps after the last one seen). */
  url(): string;
  /** The message as it should be passed on, or null when it was seen before (a replay after a reconnect). */
  accept(message: Message): Message | null;
  /** The stream's last word so far. */
  end(): End | null;
  /**
   * Asked after a connection failed to open: throws a TrainerApiError when the server refuses what is
   * followed, so it is not tried again (a WebSocket cannot tell a 404 from a server that is down).
   */
  probe(): Promise<void>;
}

export interface StreamTransport {
  WebSocket: WebSocketConstructor;
  /** Subprotocols to offer, asked on every connection (the API key may have changed). */
  protocols(): string[];
}

/** Messages waiting for an iterator; one consumer at a time. */
function messageQueue<Message>() {
  const waiting: Message[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let failure: TrainerError | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  return {
    push(message: Message) {
      waiting.push(message);
      notify();
    },
    end(error: TrainerError | null) {
      ended = true;
      failure = error;
      notify();
    },
    async *drain(): AsyncGenerator<Message> {
      for (;;) {
        const next = waiting.shift();
        if (next !== undefined) yield next;
        else if (ended) {
          if (failure) throw failure;
          return;
        } else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

function parse<Message>(data: unknown): Message | null {
  const text =
    typeof data === 'string' ? data : data instanceof ArrayBuffer ? new TextDecoder().decode(data) : String(data);
  try {
    return JSON.parse(text) as Message;
  } catch {
    return null;
  }
}

const isRefusal = (error: unknown): error is TrainerApiError =>
  error instanceof TrainerApiError && error.status >= 400 && error.status < 500 && ![408, 429].includes(error.status);

/** One followed stream: its socket, its failures in a row, and how it ends. */
class Following<Message, End> {
  private readonly backoff: Backoff;
  private readonly queue = messageQueue<Message>();
  private socket: WebSocketLike | null = null;
  private stopped = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private settle!: { resolve(end: End | null): void; reject(error: TrainerError): void };
  readonly finished = new Promise<End | null>((resolve, reject) => (this.settle = { resolve, reject }));

  constructor(
    private readonly transport: StreamTransport,
    private readonly plan: StreamPlan<Message, End>,
    private readonly options: FollowOptions<Message>,
  ) {
    this.backoff = { ...defaultBackoff, ...options.backoff };
    // Unobserved, a refusal must not surface as an unhandled rejection: an iterator hears of it too.
    this.finished.catch(() => undefined);
  }

  messages(): AsyncGenerator<Message> {
    return this.queue.drain();
  }

  private report(state: ConnectionState, retryInMs: number | null = null, reason: string | null = null): void {
    this.options.onConnection?.({ state, attempt: this.failures, retryInMs, reason });
  }

  /** `byServer`: the stream ended by itself, which `onConnection` hears of; a caller knows when it stops one. */
  stop(error: TrainerError | null, byServer: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    const open = this.socket;
    this.socket = null;
    open?.close(1000);
    if (byServer) this.report('closed');
    this.queue.end(error);
    if (error) this.settle.reject(error);
    else this.settle.resolve(this.plan.end());
  }

  /** Drops the connection as a network failure would. */
  drop(): void {
    this.socket?.close(4000, 'reconnecting');
  }

  connect(): void {
    if (this.stopped) return;
    this.report(this.failures === 0 ? 'connecting' : 'reconnecting');
    const socket = new this.transport.WebSocket(this.plan.url(), this.transport.protocols());
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.failures = 0;
      this.report('live');
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      const message = parse<Message>(event.data);
      const fresh = message === null ? null : this.plan.accept(message);
      if (fresh === null) return;
      if (this.options.onMessage) this.options.onMessage(fresh);
      else this.queue.push(fresh);
    };
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      // 1000: the server sent everything there is (a job's final status, a sweep's end).
      if (event.code === 1000) this.stop(null, true);
      else void this.retry(event.reason || `connection closed (${event.code})`, opened);
    };
  }

  private async retry(reason: string, opened: boolean): Promise<void> {
    this.failures += 1;
    const { initialDelayMs, factor, maxDelayMs, maxAttempts } = this.backoff;
    if (this.failures > maxAttempts) {
      this.stop(new TrainerUnreachable(`gave up after ${maxAttempts} failed connections: ${reason}`), true);
      return;
    }
    if (!opened) {
      const refusal = await this.plan.probe().then(
        () => null,
        (error: unknown) => (isRefusal(error) ? error : null),
      );
      if (refusal) this.stop(refusal, true);
      if (this.stopped) return;
    }
    const delay = Math.min(maxDelayMs, initialDelayMs * factor ** (this.failures - 1));
    // Up to a tenth more, so the clients of a restarted server do not all come back at the same instant.
    const wait = Math.round(delay * (1 + Math.random() / 10));
    this.report('reconnecting', wait, reason);
    this.timer = setTimeout(() => this.connect(), wait);
  }
}

/** Opens `plan`'s stream and keeps it open until it ends; see Follow. */
export function follow<Message, End>(
  transport: StreamTransport,
  plan: StreamPlan<Message, End>,
  options: FollowOptions<Message> = {},
): Follow<Message, End> {
  const following = new Following(transport, plan, options);
  const close = () => {
    options.signal?.removeEventListener('abort', close);
    following.stop(null, false);
  };
  if (options.signal?.aborted) close();
  else {
    options.signal?.addEventListener('abort', close);
    following.connect();
  }
  return {
    finished: following.finished,
    close,
    reconnect: () => following.drop(),
    [Symbol.asyncIterator]: () => following.messages(),
  };
}
