/**
 * Chart redraws share one budget per frame, in time and in count: many live charts that get new points
 * at once redraw over a few frames instead of in one long main-thread task, so the page stays
 * responsive. The count matters as much as the time: each redrawn canvas also costs the frame's paint
 * and commit, after this code has run, where no timer here can see it.
 */
const frameBudgetMs = 6;
const maxPerFrame = 4;
const pending = new Map<object, () => void>();
let scheduled = false;

function run(): void {
  scheduled = false;
  const started = performance.now();
  let done = 0;
  for (const [key, redraw] of pending) {
    pending.delete(key);
    redraw();
    done += 1;
    if (done >= maxPerFrame || performance.now() - started > frameBudgetMs) break;
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
