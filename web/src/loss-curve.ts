import { useEffect, useRef, useState } from 'preact/hooks';
import type { EpochMetrics, History, JobStatus, StepLoss } from '@trainer/client';
import { readHistory } from './history';
import { followJob, type Connection } from './live';
import { Ema } from './smoothing';
import { halvePoints } from './thin-points';

/**
 * A job's loss curve in columns (uPlot's layout), with its smoothed copy kept up to date. With
 * `maxPoints`, it never holds more: past that, older points are thinned, keeping the lowest and highest
 * loss of each stretch, so a chart of a long run costs a bounded redraw and still shows every spike.
 */
export class LossCurve {
  readonly steps: number[] = [];
  readonly losses: number[] = [];
  smoothed: number[] = [];
  private ema: Ema;

  constructor(
    private weight: number,
    private readonly maxPoints = Infinity,
  ) {
    this.ema = new Ema(weight);
  }

  get lastStep(): number {
    return this.steps.at(-1) ?? 0;
  }

  append(points: readonly StepLoss[]): void {
    for (const point of points) {
      // The stream never repeats a step; this keeps the seam clean even if it did.
      if (point.step <= this.lastStep) continue;
      this.steps.push(point.step);
      this.losses.push(point.loss);
      this.smoothed.push(this.ema.next(point.loss));
    }
    if (this.steps.length > this.maxPoints) halvePoints(this);
  }

  /** Smooths the points held again (all of them, unless `maxPoints` thinned them). */
  setSmoothing(weight: number): void {
    this.weight = weight;
    this.ema = new Ema(weight);
    this.smoothed = this.losses.map((loss) => this.ema.next(loss));
  }
}

export interface LiveCurve {
  curve: LossCurve;
  /** Grows whenever the curve does (the arrays change in place). */
  version: number;
  connection: Connection;
  /** Whether the first part came downsampled from a longer history. */
  downsampled: boolean;
  totalSteps: number;
  error: string | null;
}

interface LiveCurveEvents {
  onEpoch?(metrics: EpochMetrics): void;
  onStatus?(status: JobStatus, error: string | null): void;
  /** Points the curve holds at most (see LossCurve); all of them when absent. */
  maxPoints?: number;
  /**
   * Paces re-renders for new steps: `update` should run once, soon (a later call with the same key
   * replaces an earlier one). Without it, every batch of steps re-renders at once.
   */
  schedule?: (key: object, update: () => void) => void;
  /** Forgets what `schedule` was given for `key` (the curve is gone). */
  unschedule?: (key: object) => void;
}

/**
 * The loss curve of a job: its history (downsampled to `historyPoints`) first, then, while the job is
 * not finished, every later step from WS /jobs/:id/events?since=<last step of the history>, which the
 * API sends with no gap and no duplicate; after a broken connection it resumes from the last step seen.
 */
export function useLiveCurve(
  jobId: string,
  status: JobStatus | undefined,
  smoothing: number,
  events: LiveCurveEvents = {},
): LiveCurve {
  // Made once: the curve outlives renders, and a long history is not copied again on each.
  const held = useRef<LossCurve | null>(null);
  held.current ??= new LossCurve(smoothing, events.maxPoints);
  const curve = held.current;
  const [version, setVersion] = useState(0);
  const [connection, setConnection] = useState<Connection>('closed');
  const [meta, setMeta] = useState({ downsampled: false, totalSteps: 0, error: null as string | null });
  const handlers = useRef(events);
  handlers.current = events;

  // The history is asked for at once, beside the job itself; the stream starts once both are known.
  const [history, setHistory] = useState<Promise<History> | null>(null);
  useEffect(() => {
    const request = readHistory(jobId);
    request.catch(() => undefined);
    setHistory(request);
  }, [jobId]);

  useEffect(() => {
    if (!history) return;
    let stopped = false;
    let stream: { stop(): void } | undefined;
    const bump = () => setVersion((value) => value + 1);
    const paced = () => {
      const { schedule } = handlers.current;
      if (schedule) schedule(curve, bump);
      else bump();
    };
    history.then(
      (body) => {
        if (stopped) return;
        curve.append(body.steps);
        setMeta({ downsampled: body.downsampling !== null, totalSteps: body.totalSteps, error: null });
        paced();
        // Followed even when the job looked finished: if it ended after the history was read, the
        // stream sends the missing steps, then the final status, and closes.
        stream = followJob(jobId, curve.lastStep, {
          onConnection: setConnection,
          onSteps: (steps) => {
            curve.append(steps);
            paced();
          },
          onEpoch: (metrics) => handlers.current.onEpoch?.(metrics),
          onStatus: (next, error) => handlers.current.onStatus?.(next, error),
        });
      },
      (failure: unknown) => setMeta((old) => ({ ...old, error: String(failure) })),
    );
    return () => {
      stopped = true;
      stream?.stop();
      handlers.current.unschedule?.(curve);
    };
  }, [jobId, history]);

  useEffect(() => {
    curve.setSmoothing(smoothing);
    setVersion((value) => value + 1);
  }, [smoothing]);

  return { curve, version, connection, ...meta };
}
