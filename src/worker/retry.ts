/**
 * Runs `operation` until it succeeds, waiting after each failure for a time drawn uniformly between
 * zero and a ceiling that doubles with every failure (up to `maxDelayMs`), for at most `totalMs`;
 * then throws the last error. For writes that must survive a restart of the database they go to.
 *
 * The draw is "full jitter" (AWS's backoff study): without it every worker that lost the database at
 * the same moment retries at the same moments after it, and the restarted server takes each wave at
 * once. `random` is for tests.
 */
export async function retrying<T>(
  operation: () => Promise<T>,
  options: {
    totalMs: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    onRetry?: (error: unknown, attempt: number) => void;
    random?: () => number;
  },
): Promise<T> {
  const deadline = Date.now() + options.totalMs;
  const random = options.random ?? Math.random;
  let ceiling = options.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const delay = Math.round(random() * ceiling);
      if (Date.now() + delay > deadline) throw error;
      options.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, delay));
      ceiling = Math.min(ceiling * 2, options.maxDelayMs ?? 5000);
    }
  }
}
