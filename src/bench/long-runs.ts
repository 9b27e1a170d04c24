import WebSocket from 'ws';
import { datasets } from '../domain/datasets.js';
import { totalSteps } from '../domain/model-shape.js';
import type { JobsRepository } from '../store/jobs-repository.js';
import { benchSpec, createBenchJob, recordFinishedRun } from './networks.js';
import { messageText } from './services.js';

// Long finished runs for the benchmarks that read, replay or export histories.

/**
 * A finished job of `steps` steps of `batchSize` examples, written as a worker would, in batches:
 * as many epochs as keep each within 50,000 examples (MNIST has 60,000 training examples).
 */
export async function insertFinishedRun(jobs: JobsRepository, steps: number, batchSize = 1): Promise<string> {
  const epochs = Math.max(1, Math.ceil((steps * batchSize) / 50_000));
  const { id, spec } = await createBenchJob(jobs, {
    ...benchSpec('mlp', Math.ceil(steps / epochs) * batchSize, 1000, epochs),
    batchSize,
  });
  const total = totalSteps(spec, datasets.mnist);
  await recordFinishedRun(jobs, id, { steps: total, epochs, noise: (step) => 0.05 * Math.sin(step) });
  return id;
}

/** Replays a job's stream at `url` to a client that reads everything; resolves with the steps it got. */
export function replaySteps(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let steps = 0;
    const socket = new WebSocket(url);
    socket.on('message', (data) => {
      const message = JSON.parse(messageText(data)) as { type: string; steps?: unknown[] };
      if (message.type === 'steps') steps += message.steps?.length ?? 0;
    });
    socket.on('close', () => resolve(steps));
    socket.on('error', reject);
  });
}
