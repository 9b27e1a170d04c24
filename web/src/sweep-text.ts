import { getJson, sendJson, socketUrl, type JobStatus } from './api';
import { keepOpen, type Connection } from './live';

// The sweep shapes the dashboard reads, as src/api/schemas/sweeps.ts defines them (the fields used here).

export type SweepStatus = 'running' | 'completed' | 'cancelled';

export interface Objective {
  metric: string;
  goal: 'maximize' | 'minimize';
}

/** A swept parameter as the spec gives it: a list of values or a distribution. */
export type SweepParameter =
  { values: unknown[] } | { distribution: 'uniform' | 'logUniform' | 'intUniform'; min: number; max: number };

export interface LeaderboardEntry {
  rank: number;
  jobId: string;
  index: number;
  status: JobStatus;
  parameters: Record<string, unknown>;
  objective: number | null;
  epoch: number | null;
  epochsCompleted: number;
  stoppedReason: string | null;
}

export interface SweepRunCounts {
  pending: number;
  queued: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface SweepSummary {
  id: string;
  name: string;
  status: SweepStatus;
  method: 'grid' | 'random';
  objective: Objective;
  runCount: number;
  counts: SweepRunCounts;
  best: LeaderboardEntry | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ParameterSpread {
  parameter: string;
  values: { value: unknown; runs: number; mean: number; min: number; max: number }[];
}

export interface SweepView extends SweepSummary {
  spec: { parameters?: Record<string, SweepParameter>; maxParallel?: number; [field: string]: unknown };
  leaderboard: LeaderboardEntry[];
  parameterSpread: ParameterSpread[];
  epochs: { trained: number; planned: number };
}

/** GET /sweeps: `nextCursor` once the API pages the list (absent before). */
export interface SweepList {
  sweeps: SweepSummary[];
  nextCursor?: string | null;
}

export interface SweepEvent {
  seq: number;
  type: 'run-started' | 'run-finished' | 'run-stopped' | 'new-best' | 'sweep-finished';
  jobId?: string;
}

export const getSweep = (id: string, signal?: AbortSignal) =>
  getJson<SweepView>(`/sweeps/${encodeURIComponent(id)}`, signal);
export const cancelSweep = (id: string) => sendJson<SweepView>('POST', `/sweeps/${encodeURIComponent(id)}/cancel`);

/**
 * Follows WS /sweeps/:id/events until the sweep ends (the server then closes with 1000). A reconnect
 * replays the sweep's events from the start, so the page treats every event as "read the sweep again".
 */
export function followSweep(
  id: string,
  handlers: { onEvent: (event: SweepEvent) => void; onConnection: (state: Connection) => void },
) {
  return keepOpen<SweepEvent>(() => socketUrl(`/sweeps/${encodeURIComponent(id)}/events`), handlers.onEvent, handlers);
}

/** A value of a parameter as text: numbers kept short, everything else as JSON. */
export function parameterText(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : Number(value.toPrecision(4)).toString();
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '–';
}

/** The objective as text: a percentage for accuracies, 4 decimals otherwise. */
export function objectiveText(objective: Objective, value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return /accuracy/i.test(objective.metric) ? `${(value * 100).toFixed(2)}%` : value.toFixed(4);
}

export const objectiveLabel = (objective: Objective) =>
  `${objective.metric} (${objective.goal === 'maximize' ? 'higher' : 'lower'} is better)`;
