/** How numbers read in the terminal: accuracies as percentages, losses to 4 places, durations in units. */
export const percent = (value: number | null | undefined): string =>
  value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)}%`;

export const lossText = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(4);

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const count = (value: number): string => value.toLocaleString('en-US');
