/**
 * Turns a function of many items into one of a single item: calls made while `concurrency` flushes
 * are running wait and go together in the next one (at most `maxBatch` items). Alone, a call
 * flushes at once, with no timer and no added wait; under load, concurrent calls share round trips.
 * A failed flush fails every call in it. `flush` answers each item in the order given.
 */
export function createBatcher<Item, Result>(
  flush: (items: Item[]) => Promise<Result[]>,
  { maxBatch = 100, concurrency = 2 }: { maxBatch?: number; concurrency?: number } = {},
): (item: Item) => Promise<Result> {
  interface Waiting {
    item: Item;
    resolve: (result: Result) => void;
    reject: (error: unknown) => void;
  }
  let waiting: Waiting[] = [];
  let running = 0;

  async function run(batch: Waiting[]): Promise<void> {
    running += 1;
    try {
      const results = await flush(batch.map((entry) => entry.item));
      batch.forEach((entry, index) => entry.resolve(results[index] as Result));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      running -= 1;
      next();
    }
  }

  function next(): void {
    if (running >= concurrency || waiting.length === 0) return;
    const batch = waiting.slice(0, maxBatch);
    waiting = waiting.slice(maxBatch);
    void run(batch);
  }

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      next();
    });
}
