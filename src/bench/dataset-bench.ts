// `npm run bench:datasets [MB]`: what a dataset upload costs the API process (throughput and peak RSS
// while receiving an IDX upload of about MB megabytes, 500 unless told), and how long a worker takes
// to load a 60,000-example dataset from the store, cold and then warm. Prints figures; asserts nothing.
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { createLogger } from '../logger.js';
import { createPrismaClient } from '../store/database.js';
import { createDatasetsRepository } from '../store/datasets-repository.js';
import { loadDataset } from '../datasets/loading/index.js';
import { createDatasetSource } from '../worker/dataset-source.js';
import { benchArtifactStore, benchEnv, format, procStatusBytes, startServices } from './services.js';

const uploadMb = Number(process.argv[2] ?? 500);
const mib = (bytes: number) => `${format(bytes / 1024 / 1024)} MiB`;

/** Writes an IDX images file of `count` 28x28 images and its labels file, a few MiB at a time. */
async function writeIdx(directory: string, prefix: string, count: number): Promise<{ images: string; labels: string }> {
  const images = path.join(directory, `${prefix}-images`);
  const labels = path.join(directory, `${prefix}-labels`);
  const header = (dimensions: number[]) => {
    const bytes = Buffer.alloc(4 + dimensions.length * 4);
    bytes.writeUInt8(8, 2);
    bytes.writeUInt8(dimensions.length, 3);
    dimensions.forEach((size, index) => bytes.writeUInt32BE(size, 4 + index * 4));
    return bytes;
  };
  const imageOut = createWriteStream(images);
  imageOut.write(header([count, 28, 28]));
  const perWrite = 5000;
  for (let first = 0; first < count; first += perWrite) {
    const examples = Math.min(perWrite, count - first);
    const pixels = Buffer.alloc(examples * 784);
    for (let index = 0; index < pixels.length; index++) pixels[index] = (index * 2654435761) >>> 24;
    if (!imageOut.write(pixels)) await new Promise<void>((resolve) => imageOut.once('drain', () => resolve()));
  }
  imageOut.end();
  await finished(imageOut);
  const labelOut = createWriteStream(labels);
  labelOut.write(header([count]));
  labelOut.end(Buffer.from(Array.from({ length: count }, (_, index) => index % 10)));
  await finished(labelOut);
  return { images, labels };
}

async function upload(
  base: string,
  name: string,
  train: { images: string; labels: string },
  test: { images: string; labels: string },
) {
  const form = new FormData();
  form.append('name', name);
  form.append('trainImages', await openAsBlob(train.images), 'train-images');
  form.append('trainLabels', await openAsBlob(train.labels), 'train-labels');
  form.append('testImages', await openAsBlob(test.images), 'test-images');
  form.append('testLabels', await openAsBlob(test.labels), 'test-labels');
  const response = await fetch(`${base}/datasets`, { method: 'POST', body: form });
  if (response.status !== 201)
    throw new Error(`upload of ${name} answered ${response.status}: ${await response.text()}`);
}

const env = benchEnv('bench_datasets', 3700, { DATASET_MAX_EXAMPLES: '2000000' });
const directory = await mkdtemp(path.join(os.tmpdir(), 'trainer-bench-datasets-'));
console.log(`trainer bench:datasets: an IDX upload of about ${uploadMb} MB to the API process, then worker loads`);
const { api, base, stop } = await startServices(env, ['api']);
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const pid = api.child.pid as number;
  const bigCount = Math.round((uploadMb * 1e6) / 785);
  const big = await writeIdx(directory, 'big', bigCount);
  const small = await writeIdx(directory, 'small', 10_000);
  const mnistLike = await writeIdx(directory, 'sixty', 60_000);
  const bytes = (
    await Promise.all([big.images, big.labels, small.images, small.labels].map(async (file) => (await stat(file)).size))
  ).reduce((a, b) => a + b, 0);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = procStatusBytes(pid, 'VmRSS');
  const started = performance.now();
  await upload(base, 'bench-big', big, small);
  const seconds = (performance.now() - started) / 1000;
  const peak = procStatusBytes(pid, 'VmHWM');
  console.log(
    `upload of ${format(bytes / 1e6)} MB (${format(bigCount + 10_000)} examples): ${format(seconds, 1)} s, ${format(bytes / 1e6 / seconds, 1)} MB/s`,
  );
  console.log(/"dataset uploaded".*|.*"dataset uploaded"/.exec(api.log())?.[0] ?? '');
  console.log(
    `API RSS idle ${mib(idle)}, peak ${mib(peak)} (+${mib(peak - idle)} while receiving, validating and storing)`,
  );

  await upload(base, 'bench-sixty', mnistLike, small);
  const logger = createLogger({ level: 'silent', name: 'bench' });
  const source = createDatasetSource({
    datasets: createDatasetsRepository(prisma),
    artifacts: benchArtifactStore(env, prisma),
    cacheBytes: 2 * 1024 ** 3,
    logger,
  });
  const timed = async (load: () => Promise<unknown>) => {
    const begin = performance.now();
    await load();
    return performance.now() - begin;
  };
  const cold = await timed(() => source('bench-sixty'));
  const warm = await timed(() => source('bench-sixty'));
  const mnist = await timed(() => loadDataset('mnist'));
  console.log(
    `worker load of a 60,000 + 10,000-example 28x28 dataset: cold ${format(cold)} ms (from Postgres, hash checked, normalised into shared memory), warm ${format(warm, 1)} ms`,
  );
  console.log(`(bundled MNIST from its files, for comparison: ${format(mnist)} ms)`);
} finally {
  await prisma.$disconnect();
  await rm(directory, { recursive: true, force: true });
  await stop();
}
