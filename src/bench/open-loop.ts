/**
 * Open loop: `send(index)` every 1/rate s for `seconds`, whatever the answers do; each latency counts
 * from the planned start, so a slow answer does not hide the requests queued behind it.
 */
export async function openLoopLatencies(
  rate: number,
  seconds: number,
  send: (index: number) => Promise<void>,
): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now() + 10;
  for (let index = 0; index < rate * seconds; index++) {
    const planned = start + (index * 1000) / rate;
    const wait = planned - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(index).then(() => void latencies.push(performance.now() - planned)));
  }
  await Promise.all(pending);
  return latencies;
}
