import type { Readable } from 'node:stream';

/** What `put` stored. */
export interface StoredArtifact {
  id: string;
  /** Hex SHA-256 of the content. */
  sha256: string;
  bytes: number;
}

export interface ArtifactInfo {
  sha256: string;
  bytes: number;
  createdAt: Date;
}

/** Bytes to store, in pieces of any size. */
export type ArtifactContent = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Immutable blobs by id, shaped like an object store so an S3-compatible backend can replace the
 * Postgres one without touching callers. No method holds a whole artifact in memory.
 */
export interface ArtifactStore {
  /** Stores `content` under a new id; all or nothing (a failed put leaves nothing behind). */
  put(content: ArtifactContent): Promise<StoredArtifact>;
  /** A stream of the content, or null for an unknown id. */
  open(id: string): Promise<Readable | null>;
  /**
   * `length` bytes of the content from byte `offset` (fewer where the content ends first), reading
   * only what they need; null for an unknown id. For small parts of large artifacts.
   */
  read(id: string, range: { offset: number; length: number }): Promise<Buffer | null>;
  stat(id: string): Promise<ArtifactInfo | null>;
  /** Deletes the artifacts that exist among `ids`; returns how many it deleted. */
  delete(ids: readonly string[]): Promise<number>;
  /**
   * A URL any HTTP client may GET the content from for `expiresInSeconds` (a presigned object URL),
   * or null when the artifact is unknown or its store gives none (Postgres).
   */
  downloadUrl(id: string, expiresInSeconds: number): Promise<string | null>;
}

/** An artifact's metadata row: what the store knows of it without touching its bytes. */
export interface ArtifactRecord extends ArtifactInfo {
  id: string;
  /** Where its bytes are: "postgres" or an object URL, s3://bucket/key. */
  location: string;
}

/**
 * One place bytes can live. The metadata is always a row in `artifacts`; a backend writes its row
 * with the bytes, and reads bytes for rows whose `location` it `holds`.
 */
export interface ArtifactBackend {
  /** How the backend is named in errors and logs: "postgres" or s3://bucket/prefix. */
  readonly name: string;
  holds(location: string): boolean;
  /** Stores `content` under a new id with its row; all or nothing. */
  put(content: ArtifactContent): Promise<StoredArtifact>;
  /** A stream of the bytes, or null when they are missing. */
  open(artifact: ArtifactRecord): Promise<Readable | null>;
  /** The bytes of the range that exist (none past the end), or null when they are missing. */
  read(artifact: ArtifactRecord, range: { offset: number; length: number }): Promise<Buffer | null>;
  downloadUrl(artifact: ArtifactRecord, expiresInSeconds: number): Promise<string | null>;
}

/** Regroups `source` into pieces of exactly `size` bytes (the last may be shorter, never empty). */
export async function* rechunk(source: ArtifactContent, size: number): AsyncGenerator<Buffer<ArrayBuffer>> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(size - pendingBytes, piece.length - offset);
      pending.push(piece.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === size) {
        yield Buffer.concat(pending, size);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** The whole content of artifact `id`, or null for an unknown id; for artifacts known to be small. */
export async function readArtifactBytes(store: ArtifactStore, id: string): Promise<Buffer | null> {
  const stream = await store.open(id);
  if (!stream) return null;
  const pieces: Uint8Array[] = [];
  for await (const piece of stream as AsyncIterable<Uint8Array>) pieces.push(piece);
  return Buffer.concat(pieces);
}
