import type { PrismaClient } from '../database.js';

/** Deletes the objects at `locations` (s3://bucket/key); resolves with the locations now gone. */
export type DeleteObjects = (locations: readonly string[]) => Promise<string[]>;

/**
 * Deletes the objects waiting in the outbox `artifact_deletions` whose time has come, in batches, and
 * their outbox rows after them. Idempotent and safe to run in several processes at once: deleting an
 * object that is already gone succeeds. Stops at the first batch it could not finish (the rest wait
 * for the next drain); resolves with how many objects it deleted.
 */
export async function drainArtifactDeletions(
  prisma: PrismaClient,
  deleteObjects: DeleteObjects,
  { batch = 500 }: { batch?: number } = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const due = await prisma.$queryRaw<{ location: string }[]>`
      SELECT location FROM artifact_deletions WHERE not_before <= now() ORDER BY not_before LIMIT ${batch}`;
    if (due.length === 0) return total;
    const gone = await deleteObjects(due.map((row) => row.location));
    if (gone.length > 0) {
      // Only rows still due: a put parking the same location again since keeps its row.
      await prisma.$executeRaw`
        DELETE FROM artifact_deletions WHERE location = ANY(${gone}::text[]) AND not_before <= now()`;
    }
    total += gone.length;
    if (gone.length < due.length || due.length < batch) return total;
  }
}

/** Drains the outbox every `intervalMs` (never two drains at once) until the returned function is called. */
export function drainEvery(
  drain: () => Promise<number>,
  intervalMs: number,
  onError: (error: unknown) => void,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    drain()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
