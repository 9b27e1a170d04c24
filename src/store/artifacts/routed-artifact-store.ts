import type { PrismaClient } from '../database.js';
import type { ArtifactBackend, ArtifactRecord, ArtifactStore } from './artifact-store.js';
import { drainArtifactDeletions, type DeleteObjects } from './artifact-deletions.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RoutedArtifactStoreOptions {
  /** Where new artifacts go. */
  writer: ArtifactBackend;
  /** Other places artifacts written earlier may be (Postgres after a move to S3, or back). */
  readers?: readonly ArtifactBackend[];
  /** Deletes objects left in the outbox `artifact_deletions`; without it, the outbox is left as it is. */
  deleteObjects?: DeleteObjects;
}

/** The artifact store as the server uses it: its name, and the outbox drain deletions need. */
export interface RoutedArtifactStore extends ArtifactStore {
  /** The store new artifacts go to, as configured: "postgres" or s3://bucket/prefix. */
  readonly name: string;
  /** Deletes the objects released since the last drain; how many it deleted. */
  drainDeletions(): Promise<number>;
}

/**
 * One ArtifactStore over every place bytes may be: each artifact's row says where its bytes are, so
 * reads work across a half-finished move (`npm run artifacts:migrate`); new artifacts go to `writer`.
 * Deleting a row releases its bytes: chunks go with it (a cascade), objects through the outbox a
 * trigger fills, which is drained right after and, by the API and workers, every so often.
 */
export function createRoutedArtifactStore(
  prisma: PrismaClient,
  options: RoutedArtifactStoreOptions,
): RoutedArtifactStore {
  const backends = [options.writer, ...(options.readers ?? [])];

  async function find(id: string): Promise<{ artifact: ArtifactRecord; backend: ArtifactBackend } | null> {
    if (!uuidPattern.test(id)) return null;
    const row = await prisma.artifact.findUnique({ where: { id } });
    if (!row) return null;
    const artifact = { ...row, bytes: Number(row.bytes) };
    const backend = backends.find((candidate) => candidate.holds(row.location));
    if (!backend) throw new Error(`artifact ${id} is at ${row.location}, which this server has no store for`);
    return { artifact, backend };
  }

  async function drainDeletions(): Promise<number> {
    return options.deleteObjects ? drainArtifactDeletions(prisma, options.deleteObjects) : 0;
  }

  return {
    name: options.writer.name,
    put: (content) => options.writer.put(content),

    async stat(id) {
      const found = await find(id);
      if (!found) return null;
      const { sha256, bytes, createdAt } = found.artifact;
      return { sha256, bytes, createdAt };
    },

    async open(id) {
      const found = await find(id);
      return found ? found.backend.open(found.artifact) : null;
    },

    async read(id, range) {
      const found = await find(id);
      return found ? found.backend.read(found.artifact, range) : null;
    },

    async downloadUrl(id, expiresInSeconds) {
      const found = await find(id);
      return found ? found.backend.downloadUrl(found.artifact, expiresInSeconds) : null;
    },

    async delete(ids) {
      const valid = ids.filter((id) => uuidPattern.test(id));
      // Chunks go with their rows (ON DELETE CASCADE); objects are left in the outbox by a trigger.
      const deleted =
        valid.length === 0 ? 0 : (await prisma.artifact.deleteMany({ where: { id: { in: valid } } })).count;
      // Also after deletions by triggers (a dataset's row went before this call). An unreachable store
      // keeps its objects in the outbox for the next drain: the delete itself is done.
      await drainDeletions().catch(() => undefined);
      return deleted;
    },

    drainDeletions,
  };
}
