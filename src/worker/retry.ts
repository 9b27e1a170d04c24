/**
 * Runs `operation` until it succeeds, waiting longer after each failure (up to `maxDelayMs`),
 * for at most `totalMs`; then throws the last error. For writes that must survive a restart of
 * the database they go to.
 */
export async function retrying<T>(
  operation: () => Promise<T>,
  options: {
    totalMs: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    onRetry?: (error: unknown, attempt: number) => void;
  },
): Promise<T> {
  const deadline = Date.now() + options.totalMs;
  let delay = options.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() + delay > deadline) throw error;
      options.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5000);
    }
  }
}
