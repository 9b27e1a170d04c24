import type { Sweep } from '@trainer/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, failureText, trainer, TrainerApiError, unwrap } from './api';
import { held, type Connection } from './live';

/** How often a running sweep is read again between events: its runs' objectives move every epoch. */
const refreshMs = 3000;

export interface LiveSweep {
  sweep: Sweep | null;
  error: { status: number; message: string } | null;
  connection: Connection;
  /** Replaces the sweep with an answer the page already has (the cancel's). */
  setSweep: (sweep: Sweep) => void;
}

/** Reads the sweep one read at a time; asking during a read asks for one more after it. */
function useSweepReader(id: string) {
  const [sweep, setSweep] = useState<Sweep | null>(null);
  const [error, setError] = useState<LiveSweep['error']>(null);
  const reading = useRef<Promise<void> | null>(null);
  const again = useRef(false);
  const read = () => {
    if (reading.current) {
      again.current = true;
      return;
    }
    reading.current = unwrap(api.GET('/sweeps/{id}', { params: { path: { id } } }))
      .then(
        (next) => {
          setSweep(next);
          setError(null);
        },
        (failure: unknown) =>
          setError({ status: failure instanceof TrainerApiError ? failure.status : 0, message: failureText(failure) }),
      )
      .finally(() => {
        reading.current = null;
        if (again.current) {
          again.current = false;
          read();
        }
      });
  };
  return { sweep, setSweep, error, read };
}

/**
 * A sweep kept current: read once, then read again on every event of WS /sweeps/:id/events (runs
 * started, finished, stopped, a new best) and every few seconds while it runs. The socket shows as
 * "reconnecting" while it is reopened; the server closes it once the sweep has ended.
 */
export function useLiveSweep(id: string): LiveSweep {
  const { sweep, setSweep, error, read } = useSweepReader(id);
  const [connection, setConnection] = useState<Connection>('connecting');
  const running = sweep?.status === 'running';

  useEffect(read, [id]);

  useEffect(() => {
    if (!running) return;
    const stream = held(
      trainer.followSweep(id, {
        onMessage: read,
        onConnection: ({ state }) => {
          setConnection(state);
          if (state === 'closed') read();
        },
      }),
    );
    const timer = setInterval(read, refreshMs);
    return () => {
      clearInterval(timer);
      stream.stop();
    };
  }, [id, running]);

  return { sweep, error, connection: running ? connection : 'closed', setSweep };
}
