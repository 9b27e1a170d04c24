import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { FieldIssue } from '../../domain/errors.js';

/** One problem with one uploaded file or field, at a position its message starts with. */
export class UploadProblem extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadProblem';
  }

  get issue(): FieldIssue {
    return { path: this.path, message: this.message };
  }
}

/** Bounds an upload's content is checked against as it is read. */
export interface ReadLimits {
  /** Most examples of one dataset (both splits). */
  maxExamples: number;
  /** Most bytes the stored form may take (what the storage limit leaves). */
  maxStoredBytes: number;
  /** Most bytes one example may take stored (DATASET_MAX_EXAMPLE_BYTES), checked before its values are read. */
  maxExampleBytes: number;
  /** Classes given at upload (class names or a count); labels must be below it. */
  numClasses?: number | undefined;
}

/** Appends bytes to a file through a buffer, so many small writes cost few system calls. */
export class SpoolWriter {
  private readonly buffer: Buffer;
  private used = 0;
  /** Bytes written so far. */
  bytes = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    size: number,
  ) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  static async create(path: string, bufferBytes = 1024 * 1024): Promise<SpoolWriter> {
    return new SpoolWriter(await open(path, 'w'), path, bufferBytes);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.bytes += bytes.length;
    if (this.used + bytes.length > this.buffer.length) await this.flush();
    if (bytes.length >= this.buffer.length) {
      await this.handle.write(bytes);
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Room for `bytes` more bytes in the buffer, to be filled at `offset` and then committed. */
  async reserve(bytes: number): Promise<{ buffer: Buffer; offset: number }> {
    if (this.used + bytes > this.buffer.length) await this.flush();
    return { buffer: this.buffer, offset: this.used };
  }

  commit(bytes: number): void {
    this.used += bytes;
    this.bytes += bytes;
  }

  get capacity(): number {
    return this.buffer.length;
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.handle.write(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * The content of a spooled upload, decompressed when it starts with gzip's magic bytes (1f 8b),
 * whatever its name. A corrupt or cut gzip stream is an UploadProblem of `field`.
 */
export async function* contentOf(path: string, field: string): AsyncGenerator<Buffer> {
  const gzipped = await startsWithGzipMagic(path);
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  if (!gzipped) {
    yield* file as AsyncIterable<Buffer>;
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  file.on('error', (error) => gunzip.destroy(error));
  file.pipe(gunzip);
  try {
    yield* gunzip as AsyncIterable<Buffer>;
  } catch (error) {
    const reason = (error as Error).message;
    throw new UploadProblem(field, `the gzip-compressed content is damaged or cut short (${reason})`);
  } finally {
    file.destroy();
    gunzip.destroy();
  }
}
