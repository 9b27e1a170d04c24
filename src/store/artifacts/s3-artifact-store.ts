import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ArtifactStoreUnavailable } from '../../domain/errors.js';
import type { PrismaClient } from '../database.js';
import type { ArtifactBackend, ArtifactContent, ArtifactRecord, StoredArtifact } from './artifact-store.js';
import type { DeletedObjects, DeleteObjects } from './artifact-deletions.js';
import { postgresArtifactBackend } from './postgres-artifact-store.js';
import { createRoutedArtifactStore, type RoutedArtifactStore } from './routed-artifact-store.js';
import { isMissingObject, s3OutageReason } from './s3-outage.js';
import { locationOf, objectAt, objectOf, s3UrlOf, type S3Object, type S3Target } from './s3-location.js';

/** How to reach an S3-compatible store; credentials come from the AWS SDK's default chain. */
export interface S3Connection {
  /** The store's URL (MinIO, s3rver, ...); AWS's own endpoint for the region when left out. */
  endpoint?: string;
  region: string;
  /** Buckets in the path (http://host/bucket/key) rather than the host name, as most self-hosted stores want. */
  forcePathStyle: boolean;
  /** Credentials other than the default chain's (tests). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Attempts of each request, the SDK's own retries included; the SDK's default (3) unless told. */
  maxAttempts?: number;
}

export interface S3ArtifactStoreOptions {
  /** Bytes of each part of a multipart upload (at least 5 MiB, S3's minimum); 8 MiB unless told. */
  partBytes?: number;
}

// An upload parks its object in the outbox this far ahead, so the object of a put whose process died
// before its row committed is deleted then; a put still uploading by then fails instead of committing.
const uploadGraceMs = 6 * 3_600_000;
// S3's largest DeleteObjects batch.
const deleteBatch = 1000;

/** An S3 client for `connection`. */
export function createS3Client(connection: S3Connection): S3Client {
  return new S3Client({
    region: connection.region,
    forcePathStyle: connection.forcePathStyle,
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
    ...(connection.maxAttempts ? { maxAttempts: connection.maxAttempts } : {}),
    // The SDK waits forever by default: a store that drops packets would hang downloads and deletes.
    // A connection gets 5 s, and a request whose socket stays silent for a minute is given up (the
    // whole of a large transfer may take longer; only silence counts).
    requestHandler: { connectionTimeout: 5000, socketTimeout: 60_000 },
    // The SDK's default CRC32 checksums (sent as aws-chunked trailers) are not understood by every
    // S3-compatible store; each artifact's SHA-256, computed as it streams, is recorded instead, and
    // `npm run artifacts:migrate` checks every copy against it.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The error to throw for `error` of a call to the store named `store`: ArtifactStoreUnavailable for an outage. */
function translated(store: string, error: unknown): unknown {
  const reason = s3OutageReason(error);
  return reason ? new ArtifactStoreUnavailable(store, reason, { cause: error }) : error;
}

/** `content` as a stream that hashes and counts what passes through it, and remembers how it failed. */
function measured(content: ArtifactContent) {
  const hash = createHash('sha256');
  let bytes = 0;
  let failure: { error: unknown } | undefined;
  async function* pieces(): AsyncGenerator<Uint8Array> {
    try {
      for await (const piece of content) {
        if (piece.length === 0) continue;
        hash.update(piece);
        bytes += piece.length;
        yield piece;
      }
    } catch (error) {
      failure = { error };
      throw error;
    }
  }
  return {
    stream: Readable.from(pieces(), { objectMode: false }),
    /** Once the stream has ended. */
    result: () => ({ sha256: hash.digest('hex'), bytes }),
    /** The content's own error, if it failed: what a failed upload is reported as, not the abort that followed. */
    failure: () => failure,
  };
}

/**
 * Deletes the objects at `locations` by DeleteObjects batches per bucket. Gone are the ones deleted,
 * those of a bucket that does not exist, and locations that name no object; the store refused the
 * others one by one. An outage throws.
 */
async function deleteObjects(
  client: S3Client,
  translate: (bucket: string, error: unknown) => unknown,
  locations: readonly string[],
): Promise<DeletedObjects> {
  const gone = locations.filter((location) => objectAt(location) === null);
  const refused: string[] = [];
  const byBucket = new Map<string, string[]>();
  for (const location of locations) {
    const object = objectAt(location);
    if (object) byBucket.set(object.bucket, [...(byBucket.get(object.bucket) ?? []), object.key]);
  }
  for (const [bucket, keys] of byBucket) {
    for (let start = 0; start < keys.length; start += deleteBatch) {
      const batch = keys.slice(start, start + deleteBatch);
      const failed = await deleteBatchOf(client, translate, bucket, batch);
      for (const key of batch) (failed.has(key) ? refused : gone).push(locationOf({ bucket, key }));
    }
  }
  return { gone, refused };
}

/** The keys of `batch` the store refused to delete; none when the bucket does not exist. */
async function deleteBatchOf(
  client: S3Client,
  translate: (bucket: string, error: unknown) => unknown,
  bucket: string,
  batch: readonly string[],
): Promise<Set<string | undefined>> {
  try {
    const answer = await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((key) => ({ Key: key })), Quiet: true },
      }),
    );
    return new Set((answer.Errors ?? []).map((failure) => failure.Key));
  } catch (error) {
    // A bucket that is not there holds none of these objects: nothing is left to delete.
    if ((error as { name?: unknown }).name === 'NoSuchBucket') return new Set();
    throw translate(bucket, error);
  }
}

/**
 * Object storage operations through `client`, every outage an ArtifactStoreUnavailable naming the
 * store: `target` as configured for its bucket, s3://bucket for objects in another.
 */
export function s3Objects(client: S3Client, target: S3Target | null, { partBytes = 8 * 1024 * 1024 } = {}) {
  const nameOf = (bucket: string) => (target?.bucket === bucket ? s3UrlOf(target) : `s3://${bucket}`);

  const translate = (bucket: string, error: unknown) => translated(nameOf(bucket), error);

  async function call<T>(bucket: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw translate(bucket, error);
    }
  }

  return {
    /** Streams `content` to `object` (multipart when larger than a part), hashing it on the way. */
    upload(object: S3Object, content: ArtifactContent): Promise<{ sha256: string; bytes: number }> {
      const body = measured(content);
      const upload = new Upload({
        client,
        params: { Bucket: object.bucket, Key: object.key, Body: body.stream, ContentType: 'application/octet-stream' },
        partSize: partBytes,
        // At most two parts in memory at once, whatever the artifact's size.
        queueSize: 2,
        leavePartsOnError: false,
      });
      return call(object.bucket, async () => {
        try {
          await upload.done();
        } catch (error) {
          const failure = body.failure();
          throw failure ? failure.error : error;
        }
        return body.result();
      });
    },

    /** The object's bytes (of `range` when given, `bytes=first-last`), or null when it is not there. */
    get(object: S3Object, range?: string): Promise<Readable | null> {
      return call(object.bucket, async () => {
        try {
          const answer = await client.send(
            new GetObjectCommand({ Bucket: object.bucket, Key: object.key, ...(range ? { Range: range } : {}) }),
          );
          // In Node the body is an http.IncomingMessage (a Readable) with the SDK's helpers mixed in.
          return answer.Body as Readable;
        } catch (error) {
          if (isMissingObject(error)) return null;
          throw error;
        }
      });
    },

    /** A presigned GET of the object for `expiresInSeconds`; signed here, without a request to the store. */
    presign(object: S3Object, expiresInSeconds: number): Promise<string> {
      return call(object.bucket, () =>
        getSignedUrl(client, new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), {
          expiresIn: expiresInSeconds,
        }),
      );
    },

    /** Deletes the objects at `locations`: see deleteObjects. */
    deleteObjects: ((locations) => deleteObjects(client, translate, locations)) satisfies DeleteObjects,
  };
}

export type S3Objects = ReturnType<typeof s3Objects>;

/** The object of a row, or an error for a row that names none (a bug elsewhere). */
function objectOfRow(artifact: ArtifactRecord): S3Object {
  const object = objectAt(artifact.location);
  if (!object) throw new Error(`artifact ${artifact.id} is at ${artifact.location}, not in object storage`);
  return object;
}

/** Reads of artifacts in object storage, wherever their objects are; `put` stores to `target`, or fails without one. */
function s3Backend(prisma: PrismaClient, objects: S3Objects, target: S3Target | null): ArtifactBackend {
  return {
    name: target ? s3UrlOf(target) : 's3',
    holds: (location) => location.startsWith('s3://'),

    async put(content): Promise<StoredArtifact> {
      if (!target) throw new Error('no object storage is configured for new artifacts (ARTIFACT_STORE)');
      const id = randomUUID();
      const object = objectOf(target, id);
      const location = locationOf(object);
      // Parked before the upload, unparked as the row commits: whatever dies in between, the object goes.
      const notBefore = new Date(Date.now() + uploadGraceMs);
      await prisma.artifactDeletion.upsert({
        where: { location },
        create: { location, notBefore },
        update: { notBefore },
      });
      let stored: { sha256: string; bytes: number };
      try {
        stored = await objects.upload(object, content);
      } catch (error) {
        // Nothing to keep: the next drain deletes whatever part of it arrived.
        await prisma.artifactDeletion
          .updateMany({ where: { location }, data: { notBefore: new Date() } })
          .catch(() => 0);
        throw error;
      }
      await prisma.$transaction(async (transaction) => {
        const unparked = await transaction.artifactDeletion.deleteMany({ where: { location } });
        if (unparked.count !== 1) throw new Error(`artifact ${id}: its object was deleted while it uploaded`);
        await transaction.artifact.create({ data: { id, ...stored, location } });
      });
      return { id, ...stored };
    },

    open: (artifact) => objects.get(objectOfRow(artifact)),

    async read(artifact, { offset, length }) {
      const end = Math.min(offset + length, artifact.bytes);
      if (length <= 0 || offset >= end) return Buffer.alloc(0);
      const stream = await objects.get(objectOfRow(artifact), `bytes=${offset}-${end - 1}`);
      if (!stream) return null;
      const pieces: Uint8Array[] = [];
      for await (const piece of stream as AsyncIterable<Uint8Array>) pieces.push(piece);
      return Buffer.concat(pieces);
    },

    downloadUrl: (artifact, expiresInSeconds) => objects.presign(objectOfRow(artifact), expiresInSeconds),
  };
}

/**
 * Bytes in an S3-compatible store: one object per artifact under `target` (its key the prefix and the
 * artifact's id), the metadata a row in `artifacts` whose `location` is the object's URL. Reads any
 * object URL, also of another bucket.
 */
export function s3ArtifactBackend(prisma: PrismaClient, objects: S3Objects, target: S3Target): ArtifactBackend {
  return s3Backend(prisma, objects, target);
}

/** Reads of artifacts in object storage only, for a server whose new artifacts go to Postgres. */
export function s3ArtifactReader(prisma: PrismaClient, objects: S3Objects): ArtifactBackend {
  return s3Backend(prisma, objects, null);
}

/**
 * Artifacts in object storage: new ones go to `target`; ones still in Postgres (from before a move)
 * are read from there; deleted ones' objects are deleted through the outbox.
 */
export function createS3ArtifactStore(
  prisma: PrismaClient,
  client: S3Client,
  target: S3Target,
  options: S3ArtifactStoreOptions = {},
): RoutedArtifactStore {
  const objects = s3Objects(client, target, options);
  return createRoutedArtifactStore(prisma, {
    writer: s3ArtifactBackend(prisma, objects, target),
    readers: [postgresArtifactBackend(prisma)],
    deleteObjects: objects.deleteObjects,
  });
}
