export const percent = (value: number | null | undefined, digits = 2) =>
  value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`;

export const integer = (value: number) => value.toLocaleString('en-US');

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export const dateTime = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '–');

export const shortId = (id: string) => id.slice(0, 8);

export const runName = (run: { name: string | null; id: string }) => run.name ?? shortId(run.id);

export function loss(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : value.toFixed(4);
}

/** Time left for a running job, from how long it has taken so far for the fraction done. */
export function eta(startedAt: string | null, fraction: number, now = Date.now()): string {
  if (!startedAt || fraction <= 0 || fraction >= 1) return '';
  const elapsed = now - new Date(startedAt).getTime();
  return `${duration((elapsed / fraction) * (1 - fraction))} left`;
}
