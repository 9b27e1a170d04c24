// `npm run bench:cancel [cancels]`: how fast a cancel takes hold. The API and a worker run in processes
// of their own; jobs of 1,500 one-step batches are cancelled at random points while they train, and
// for every 202 this prints how long after it the job's last step was written (its `steps` event,
// sent once the row is committed) and its `cancelled` status event arrived on WS /events.
// Prints figures; asserts nothing.
import { randomInt } from 'node:crypto';
import WebSocket from 'ws';
import type { JobSpecInput } from '../domain/job-spec.js';
import { denseLayers } from './networks.js';
import { benchEnv, format, startServices, submitJob } from './services.js';

const wanted = Number(process.argv[2] ?? 50);
const totalSteps = 1500;
const batchSize = 2;
// A 784-32-10 network in batches of two: many short steps, so a cancel lands while one trains.
const job: JobSpecInput = {
  trainSamples: totalSteps * batchSize,
  testSamples: 200,
  batchSize,
  epochs: 1,
  learningRate: 0.05,
  seed: 1,
  model: { layers: denseLayers([32], 10) },
};

const finalStatuses = ['completed', 'failed', 'cancelled'];

interface JobMessage {
  type: string;
  jobId: string;
  status?: string;
  steps?: { step: number }[];
}

/** The messages of a socket, each with the time it arrived. */
function listen(url: string) {
  const socket = new WebSocket(url);
  const received: { at: number; message: JobMessage }[] = [];
  socket.on('message', (data: Buffer) =>
    received.push({ at: performance.now(), message: JSON.parse(data.toString()) as JobMessage }),
  );
  const opened = new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received, opened, closed };
}

const lastStepOf = (received: { message: JobMessage }[]) =>
  Math.max(0, ...received.flatMap(({ message }) => message.steps?.map((step) => step.step) ?? []));

interface Measurement {
  toLastStep: number;
  toCancelled: number;
  stepsAfter: number;
  status: string;
}

/** Submits a job, cancels it at a random step; null when the job had finished first (409). */
async function cancelOne(base: string, all: ReturnType<typeof listen>): Promise<Measurement | null> {
  const id = await submitJob(base, job);
  const events = listen(`${base.replace(/^http/, 'ws')}/jobs/${id}/events`);
  await events.opened;
  const point = randomInt(20, totalSteps - 20);
  while (lastStepOf(events.received) < point) await new Promise((resolve) => setTimeout(resolve, 1));
  const cancel = await fetch(`${base}/jobs/${id}/cancel`, { method: 'POST' });
  const answeredAt = performance.now();
  const answered = (await cancel.json()) as { progress: { step: number } };
  await events.closed;
  if (cancel.status !== 202) return null;
  const lastStep = lastStepOf(events.received);
  const lastStepAt = events.received.find(({ message }) => message.steps?.some((step) => step.step === lastStep))?.at;
  const final = () =>
    all.received.find(
      ({ message }) =>
        message.jobId === id && message.type === 'status' && finalStatuses.includes(message.status ?? ''),
    );
  while (!final()) await new Promise((resolve) => setTimeout(resolve, 1));
  const ended = final() as { at: number; message: JobMessage };
  return {
    toLastStep: (lastStepAt ?? answeredAt) - answeredAt,
    toCancelled: ended.at - answeredAt,
    stepsAfter: lastStep - answered.progress.step,
    status: ended.message.status ?? '?',
  };
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

const report = (label: string, values: number[], unit: string) => {
  const { p50, p95, p99, max } = percentiles(values);
  const cell = (value: number) => `${format(value, unit === 'ms' ? 1 : 0)} ${unit}`.padStart(10);
  console.log(`${label.padEnd(34)} p50 ${cell(p50)}  p95 ${cell(p95)}  p99 ${cell(p99)}  max ${cell(max)}`);
  return { p99 };
};

console.log(
  `trainer bench:cancel: ${wanted} cancels of running ${format(totalSteps)}-step jobs, API and worker in separate processes`,
);
const { base, stop } = await startServices(benchEnv('bench_cancel', 3900, { WORKER_CONCURRENCY: '1' }), [
  'worker',
  'api',
]);
const all = listen(`${base.replace(/^http/, 'ws')}/events`);
try {
  await all.opened;
  const measurements: Measurement[] = [];
  let refused = 0;
  while (measurements.length < wanted) {
    const measured = await cancelOne(base, all);
    if (measured) measurements.push(measured);
    else refused += 1;
  }
  const notCancelled = measurements.filter((measured) => measured.status !== 'cancelled').length;
  console.log(
    `${measurements.length} cancels answered 202 (${refused} answered 409: finished first); ${notCancelled} of them did not end cancelled\n`,
  );
  const toLastStep = report(
    '202 -> last step written',
    measurements.map((m) => m.toLastStep),
    'ms',
  );
  report(
    '202 -> cancelled event on /events',
    measurements.map((m) => m.toCancelled),
    'ms',
  );
  report(
    'last step - progress.step in 202',
    measurements.map((m) => m.stepsAfter),
    'steps',
  );
  const met = toLastStep.p99 < 100;
  console.log(
    `\ntarget p99 < 100 ms from 202 to last step: ${met ? 'met' : 'MISSED'} (${format(toLastStep.p99, 1)} ms)`,
  );
} finally {
  all.socket.close();
  await stop();
}
