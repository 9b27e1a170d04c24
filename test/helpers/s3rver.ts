import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client } from '../../src/store/artifacts/s3-artifact-store.js';
import { uniqueName } from './database.js';

/** s3rver's fixed credentials: it checks signatures against them. */
export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** A bucket of this test file's own. */
  bucket: string;
  /** A client with s3rver's credentials, path-style. */
  client: S3Client;
  /** The environment a server needs to store artifacts here under `prefix`. */
  env(prefix: string): Record<string, string>;
  /** Every key in the bucket (under `prefix` when given). */
  keys(prefix?: string): Promise<string[]>;
  /** Stops answering (connections are refused) until `restart`; the stored objects stay. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it for good and removes its files. */
  close(): Promise<void>;
}

/** A real S3-compatible server (s3rver) in this process, on a free port, over a temporary directory, with one bucket. */
export async function startLocalS3(label: string): Promise<LocalS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const bucket = uniqueName(label).toLowerCase().replaceAll('_', '-');
  const options = { address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] };
  let server = new S3rver({ ...options, port: 0 });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createS3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3rverCredentials,
  });
  let running = true;
  return {
    endpoint,
    bucket,
    client,
    env: (prefix) => ({
      ARTIFACT_STORE: `s3://${bucket}/${prefix}`,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
    }),
    async keys(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, ...(prefix ? { Prefix: prefix } : {}) }),
        );
        keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
        token = page.NextContinuationToken;
      } while (token);
      return keys;
    },
    async stop() {
      if (!running) return;
      running = false;
      await server.close();
    },
    async restart() {
      if (running) return;
      server = new S3rver({ ...options, port });
      await server.run();
      running = true;
    },
    async close() {
      client.destroy();
      if (running) await server.close();
      running = false;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
