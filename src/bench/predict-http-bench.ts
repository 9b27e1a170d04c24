// The HTTP pass of `npm run bench:predict`: an API process of its own (2 inference threads, a model
// cache sized for about 5 models) serving 784-512-512-10 models stored in a database of its own, measured
// from this process over keep-alive HTTP: the cold first request, warm single-input latency at a steady
// rate, batches of 1, 100 and 1,000, and the API's RSS with 20 models used in turn.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseJobSpec } from '../domain/job-spec.js';
import { exerciseNetworks as networks } from '../domain/exercise.js';
import type { ArtifactStore } from '../store/artifacts/artifact-store.js';
import { createPrismaClient, type PrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { createModelsRepository } from '../store/models-repository.js';
import { percentile, randomWeights, template, verdict } from './predict-fixtures.js';
import { benchArtifactStore, benchEnv, format, procStatusBytes, startServices } from './services.js';
import { openLoopLatencies } from './open-loop.js';

const rate = 200;
const steadySeconds = 10;
const modelCount = 20;
const rounds = 4;
const mib = (bytes: number) => `${format(bytes / 1024 / 1024, 1)} MiB`;

function randomInputs(count: number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: 784 }, () => Math.floor(Math.random() * 256)));
}

/** `count` ended jobs, each with a final model of the exercise's first network (its own weights). */
export async function storeModels(prisma: PrismaClient, artifacts: ArtifactStore, count: number): Promise<string[]> {
  const { modelJson, weightBytes } = await template();
  const jobs = createJobsRepository(prisma);
  const models = createModelsRepository(prisma);
  const parsed = parseJobSpec(
    { model: { layers: networks.mlp.layers }, epochs: 1, learningRate: 0.01, batchSize: 64 },
    {
      maxParameters: 1e9,
    },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const job = await jobs.create({ id: randomUUID(), spec: parsed.spec, parameterCount: 1, totalSteps: 1 });
    await jobs.finish(job.id, 'completed');
    const [json, weights] = [
      await artifacts.put([modelJson]),
      await artifacts.put([randomWeights(weightBytes, index)]),
    ];
    await models.save({
      jobId: job.id,
      version: 'final',
      epoch: 1,
      modelJsonArtifactId: json.id,
      weightsArtifactId: weights.id,
      tfjsVersion: '4.22.0',
      inputShape: [28, 28],
      preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
      classCount: 10,
      classNames: null,
      testAccuracy: null,
    });
    ids.push(job.id);
  }
  return ids;
}

// At most 16 connections, kept alive: under an open loop the excess waits in the agent's queue (and
// counts towards latency) instead of opening ever more sockets on an overloaded machine.
function client(base: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const url = new URL(base);
  const predict = (jobId: string, inputs: number[][]): Promise<number> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ inputs });
      const started = performance.now();
      const request = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: `/jobs/${jobId}/predict`,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          response.resume();
          response.on('end', () =>
            response.statusCode === 200
              ? resolve(performance.now() - started)
              : reject(new Error(`predict answered ${response.statusCode}`)),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  return Object.assign(predict, { close: () => agent.destroy() });
}

type Predict = ReturnType<typeof client>;

/** Single inputs at a steady rate through HTTP. */
async function steady(predict: Predict, jobId: string): Promise<number[]> {
  const inputs = randomInputs(64);
  return openLoopLatencies(rate, steadySeconds, async (index) => {
    await predict(jobId, [inputs[index % inputs.length] as number[]]);
  });
}

async function batches(predict: Predict, jobId: string): Promise<number> {
  let batch1000 = NaN;
  for (const batch of [1, 100, 1000]) {
    const inputs = randomInputs(batch);
    const latencies: number[] = [];
    for (let round = 0; round < (batch === 1000 ? 20 : 50); round++) latencies.push(await predict(jobId, inputs));
    const p50 = percentile(latencies, 0.5);
    if (batch === 1000) batch1000 = p50;
    console.log(
      `  batch of ${format(batch)}: p50 ${format(p50, 1)} ms, p99 ${format(percentile(latencies, 0.99), 1)} ms, ` +
        `${format((batch * 1000) / p50)} inputs/s one request at a time`,
    );
  }
  return batch1000;
}

export async function httpPass(): Promise<void> {
  const { modelJson, weightBytes } = await template();
  const cacheBytes = Math.floor((modelJson.length + weightBytes) * 5.5);
  const env = benchEnv('bench_predict', 3700, { PREDICT_THREADS: '2', MODEL_CACHE_BYTES: String(cacheBytes) });
  console.log(`\nthrough the API (POST /jobs/:id/predict, its own process, cache ${mib(cacheBytes)}):`);
  const { api, base, stop } = await startServices(env, ['api']);
  const prisma = createPrismaClient(env.DATABASE_URL);
  try {
    const ids = await storeModels(prisma, benchArtifactStore(env, prisma), modelCount);
    const predict = client(base);
    const [first = '', second = ''] = ids;
    const cold = await predict(first, randomInputs(1));
    const coldOther = await predict(second, randomInputs(1));
    console.log(`  cold: first request ${format(cold, 1)} ms; first for another model ${format(coldOther, 1)} ms`);
    for (let round = 0; round < 200; round++) await predict(first, randomInputs(1));
    const latencies = await steady(predict, first);
    const p99 = percentile(latencies, 0.99);
    console.log(
      `  single input at ${rate} requests/s for ${steadySeconds} s: p50 ${format(percentile(latencies, 0.5), 2)} ms, ` +
        `p99 ${format(p99, 2)} ms, max ${format(Math.max(...latencies), 1)} ms`,
    );
    const batch1000 = await batches(predict, first);
    const pid = api.child.pid as number;
    const baseline = procStatusBytes(pid, 'VmRSS');
    const peaks: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let peak = 0;
      for (const id of ids) {
        await predict(id, randomInputs(10));
        peak = Math.max(peak, procStatusBytes(pid, 'VmRSS'));
      }
      peaks.push(peak);
    }
    console.log(
      `  API RSS with ${modelCount} models in turn: before ${mib(baseline)}, peaks ${peaks.map(mib).join(', ')}`,
    );
    console.log('  targets (through HTTP):');
    verdict('warm single-input p99 < 10 ms at 200 req/s', p99 < 10, `${format(p99, 2)} ms`);
    verdict('batch of 1,000 < 100 ms', batch1000 < 100, `${format(batch1000, 1)} ms (p50)`);
    const early = Math.max(...peaks.slice(0, rounds / 2));
    const late = Math.max(...peaks.slice(rounds / 2));
    verdict(
      'API RSS bounded by the cache limit',
      late <= early * 1.1,
      `peak ${mib(late)} in the later rounds vs ${mib(early)}`,
    );
    predict.close();
  } finally {
    await prisma.$disconnect();
    await stop();
  }
}
