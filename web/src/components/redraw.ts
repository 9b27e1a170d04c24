/**
 * Chart redraws share one time budget per frame: many live charts that get new points at once redraw
 * over a few frames instead of in one long main-thread task, so the page stays responsive.
 */
const frameBudgetMs = 6;
const pending = new Map<object, () => void>();
let scheduled = false;

function run(): void {
  scheduled = false;
  const started = performance.now();
  for (const [key, redraw] of pending) {
    pending.delete(key);
    redraw();
    if (performance.now() - started > frameBudgetMs) break;
  }
  if (pending.size > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(run);
}

/** Redraws `key` in a coming frame; a later request for the same key replaces an earlier one. */
export function scheduleRedraw(key: object, redraw: () => void): void {
  // Re-inserted at the end, so charts waiting longest go first.
  pending.delete(key);
  pending.set(key, redraw);
  schedule();
}

export function cancelRedraw(key: object): void {
  pending.delete(key);
}
