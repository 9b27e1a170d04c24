import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../config.js';
import type { PrismaClient } from '../database.js';
import { postgresArtifactBackend } from './postgres-artifact-store.js';
import { createRoutedArtifactStore, type RoutedArtifactStore } from './routed-artifact-store.js';
import { createS3ArtifactStore, createS3Client, s3ArtifactReader, s3Objects } from './s3-artifact-store.js';

export type ArtifactStoreConfig = Pick<
  Config,
  'ARTIFACT_STORE' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE' | 'S3_MAX_ATTEMPTS'
>;

/** The S3 client S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE and S3_MAX_ATTEMPTS describe. */
export function s3ClientOf(config: ArtifactStoreConfig): S3Client {
  return createS3Client({
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    maxAttempts: config.S3_MAX_ATTEMPTS,
  });
}

/**
 * The artifact store ARTIFACT_STORE names: new artifacts go there, and artifacts written elsewhere
 * before (Postgres, or object storage before a move back) stay readable, each where its row says.
 */
export function createArtifactStore(config: ArtifactStoreConfig, prisma: PrismaClient): RoutedArtifactStore {
  // Creating a client reaches nothing; a server that never stored an object never calls it.
  const client = s3ClientOf(config);
  const target = config.ARTIFACT_STORE;
  if (target !== 'postgres') return createS3ArtifactStore(prisma, client, target);
  const objects = s3Objects(client, null);
  return createRoutedArtifactStore(prisma, {
    writer: postgresArtifactBackend(prisma),
    readers: [s3ArtifactReader(prisma, objects)],
    deleteObjects: objects.deleteObjects,
  });
}
