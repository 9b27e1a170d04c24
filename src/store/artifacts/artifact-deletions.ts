import type { PrismaClient } from '../database.js';

/** What deleting objects did: the locations now gone, and those the store refused one by one. */
export interface DeletedObjects {
  gone: string[];
  refused: string[];
}

/** Deletes the objects at `locations` (s3://bucket/key); throws when the store cannot be reached. */
export type DeleteObjects = (locations: readonly string[]) => Promise<DeletedObjects>;

// An object the store refused to delete is tried again this much later, not at every drain.
const refusedRetryMs = 5 * 60_000;

/**
 * Deletes the objects waiting in the outbox `artifact_deletions` whose time has come, in batches, and
 * their outbox rows after them. Idempotent and safe to run in several processes at once: deleting an
 * object that is already gone succeeds. An object the store refuses to delete waits a few minutes;
 * an outage throws, leaving the rest for the next drain. Resolves with how many objects it deleted.
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
    const { gone, refused } = await deleteObjects(due.map((row) => row.location));
    if (gone.length > 0) {
      // Only rows still due: a put parking the same location again since keeps its row.
      await prisma.$executeRaw`
        DELETE FROM artifact_deletions WHERE location = ANY(${gone}::text[]) AND not_before <= now()`;
    }
    if (refused.length > 0) {
      const later = new Date(Date.now() + refusedRetryMs);
      await prisma.artifactDeletion.updateMany({ where: { location: { in: refused } }, data: { notBefore: later } });
    }
    total += gone.length;
    if (due.length < batch) return total;
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
