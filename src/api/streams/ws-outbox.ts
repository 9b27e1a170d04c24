import type { WebSocket } from 'ws';

/** The parts of a `ws` socket an outbox uses. */
export type OutboxSocket = Pick<
  WebSocket,
  'send' | 'close' | 'terminate' | 'readyState' | 'bufferedAmount' | 'once'
> & {
  readonly OPEN: WebSocket['OPEN'];
};

export interface OutboxOptions {
  /** Unsent bytes a client may have; past them, a live message cuts it off instead of queueing. */
  maxBufferedBytes: number;
  /** How long `drained` waits for a client to read down to the low-water mark before cutting it off. */
  slowClientMs: number;
}

export interface Outbox {
  /** Queues `message` as JSON; false (and the client cut off) when it is over its bound or gone. */
  send(message: object): boolean;
  /**
   * Resolves true once the client's unsent bytes are down to a quarter of the bound, so a replay sends
   * more only then; false when the client has gone or did not read in time (it is cut off then).
   */
  drained(): Promise<boolean>;
}

// 1008 (policy violation) rather than 1006: the client learns why and that reconnecting with
// ?since=<last step it has> resumes where it stopped.
export const tooSlowCode = 1008;
export const tooSlowReason = 'client is not reading fast enough; reconnect with ?since=<last step>';
// After the close frame (which queues behind everything unsent) the socket gets this long before it
// is destroyed, so a client that never reads does not hold its buffer until the handshake times out.
const terminateAfterMs = 1000;

/**
 * One connection's bounded outbox. Everything written waits in the socket's buffer until the kernel
 * takes it; this keeps that buffer within `maxBufferedBytes` (plus the message that crossed it) for
 * every client, whether it reads slowly or never.
 */
export function createOutbox(socket: OutboxSocket, { maxBufferedBytes, slowClientMs }: OutboxOptions): Outbox {
  const lowWaterBytes = Math.floor(maxBufferedBytes / 4);
  const open = () => socket.readyState === socket.OPEN;
  // Whoever waits in `drained`: woken whenever a write completes or the socket closes.
  let wake: (() => void) | undefined;
  const written = () => wake?.();
  socket.once('close', written);

  const cutOff = () => {
    if (!open()) return;
    socket.close(tooSlowCode, tooSlowReason);
    setTimeout(() => socket.terminate(), terminateAfterMs).unref();
  };

  return {
    send(message) {
      if (!open()) return false;
      if (socket.bufferedAmount > maxBufferedBytes) {
        cutOff();
        return false;
      }
      socket.send(JSON.stringify(message), written);
      return true;
    },

    async drained() {
      const caughtUp = () => !open() || socket.bufferedAmount <= lowWaterBytes;
      if (!caughtUp()) {
        const reached = await new Promise<boolean>((resolve) => {
          // Also checked at the deadline, in case the last write's completion was missed.
          const timer = setTimeout(() => resolve(caughtUp()), slowClientMs);
          wake = () => {
            if (!caughtUp()) return;
            clearTimeout(timer);
            resolve(true);
          };
        });
        wake = undefined;
        if (!reached) cutOff();
      }
      return open();
    },
  };
}
