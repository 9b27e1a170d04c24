import type { Redis } from 'ioredis';
import { allJobsChannel, jobChannel, type JobEvent } from '../../events/job-events.js';
import { withTimeout } from '../http/with-timeout.js';

export type EventListener = (event: JobEvent) => void;

// Hands a published event to a channel's listeners; a payload that is not JSON is dropped.
function dispatch(
  listeners: ReadonlySet<EventListener> | undefined,
  payload: string,
  onDispatched?: (event: JobEvent) => void,
): void {
  if (!listeners) return;
  let event: JobEvent;
  try {
    event = JSON.parse(payload) as JobEvent;
  } catch {
    return;
  }
  for (const listener of listeners) listener(event);
  onDispatched?.(event);
}

/**
 * One Redis subscriber connection per API process, shared by every WebSocket. Events come from
 * whichever process published them, so any number of API processes and workers can be mixed.
 */
export function createEventHub(
  subscriber: Redis,
  prefix: string,
  subscribeTimeoutMs = 5000,
  /** Called after an event was handed to its listeners (for the event lag metric). */
  onDispatched?: (event: JobEvent) => void,
) {
  const listeners = new Map<string, Set<EventListener>>();
  const pending = new Map<string, Promise<unknown>>();

  subscriber.on('message', (channel: string, payload: string) =>
    dispatch(listeners.get(channel), payload, onDispatched),
  );

  async function subscribe(channel: string, listener: EventListener): Promise<() => Promise<void>> {
    let set = listeners.get(channel);
    if (!set) {
      set = new Set();
      listeners.set(channel, set);
      pending.set(channel, subscriber.subscribe(channel));
    }
    set.add(listener);
    const unsubscribe = async () => {
      const current = listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        listeners.delete(channel);
        pending.delete(channel);
        await subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
    // Resolves only once Redis confirmed the subscription, so nothing published after this is missed;
    // while Redis is down it gives up after a while rather than leaving the client waiting.
    try {
      await withTimeout(
        Promise.resolve(pending.get(channel)),
        subscribeTimeoutMs,
        'Redis did not confirm the subscription in time',
      );
    } catch (error) {
      await unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  return {
    /** Every event of one job. */
    subscribeJob: (jobId: string, listener: EventListener) => subscribe(jobChannel(prefix, jobId), listener),
    /** Status and epoch events of all jobs. */
    subscribeAll: (listener: EventListener) => subscribe(allJobsChannel(prefix), listener),
    /**
     * Called after the subscriber reconnected and its subscriptions are confirmed again: messages
     * published while it was away were lost, so listeners catch up from Postgres.
     */
    onReconnect(callback: () => void): void {
      let connectedBefore = subscriber.status === 'ready';
      subscriber.on('ready', () => {
        if (!connectedBefore) {
          connectedBefore = true;
          return;
        }
        // ioredis re-subscribes on its own, but says `ready` before Redis has confirmed it.
        Promise.all([...listeners.keys()].map((channel) => subscriber.subscribe(channel))).then(
          callback,
          () => undefined,
        );
      });
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
