import type { Logger } from '../logger.js';
import { drainEvery } from '../store/artifacts/artifact-deletions.js';
import type { RoutedArtifactStore } from '../store/artifacts/routed-artifact-store.js';

/**
 * Deletes, every `intervalMs`, the stored objects of artifacts that deletions and retention released
 * (triggers leave them in an outbox); a store that is down keeps them there for the next round.
 * Returns the function that stops it.
 */
export function drainReleasedArtifacts(artifacts: RoutedArtifactStore, intervalMs: number, logger: Logger): () => void {
  return drainEvery(
    () => artifacts.drainDeletions(),
    intervalMs,
    (error) => logger.warn({ err: error, store: artifacts.name }, 'could not delete released artifacts; will retry'),
  );
}
