import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import type { Connection } from './live';
import { followSweep, getSweep, type SweepView } from './sweep-api';

/** How often a running sweep is read again between events: its runs' objectives move every epoch. */
const refreshMs = 3000;

export interface LiveSweep {
  sweep: SweepView | null;
  error: { status: number; message: string } | null;
  connection: Connection;
  /** Replaces the sweep with an answer the page already has (the cancel's). */
  setSweep: (sweep: SweepView) => void;
}

/**
 * A sweep kept current: read once, then read again on every event of WS /sweeps/:id/events (runs
 * started, finished, stopped, a new best) and every few seconds while it runs. The socket shows as
 * "reconnecting" while it is reopened; the server closes it once the sweep has ended.
 */
export function useLiveSweep(id: string): LiveSweep {
  const [sweep, setSweep] = useState<SweepView | null>(null);
  const [error, setError] = useState<LiveSweep['error']>(null);
  const [connection, setConnection] = useState<Connection>('connecting');
  const running = sweep?.status === 'running';
  const reading = useRef<Promise<void> | null>(null);
  const again = useRef(false);

  const read = () => {
    // One read at a time; events that arrive meanwhile ask for one more read after it.
    if (reading.current) {
      again.current = true;
      return;
    }
    reading.current = getSweep(id)
      .then(
        (next) => {
          setSweep(next);
          setError(null);
        },
        (failure: unknown) =>
          setError(
            failure instanceof ApiError
              ? { status: failure.status, message: failure.message }
              : { status: 0, message: String(failure) },
          ),
      )
      .finally(() => {
        reading.current = null;
        if (again.current) {
          again.current = false;
          read();
        }
      });
  };

  useEffect(read, [id]);

  useEffect(() => {
    if (!running) return;
    const stream = followSweep(id, {
      onEvent: read,
      onConnection: (state) => {
        setConnection(state);
        if (state === 'closed') read();
      },
    });
    const timer = setInterval(read, refreshMs);
    return () => {
      clearInterval(timer);
      stream.stop();
    };
  }, [id, running]);

  return { sweep, error, connection: running ? connection : 'closed', setSweep };
}
