import { bundledDataset } from '../../src/domain/datasets.js';
// Narrow stand-ins for what the worker's pieces call: a store that records writes, a pool whose
// trainings the test drives by hand. Unit tests only; integration tests use real Postgres and Redis.
import { vi } from 'vitest';
import type { JobEvent } from '../../src/events/job-events.js';
import type { Job, StepRecord } from '../../src/store/jobs-repository.js';
import type { ModelRecord, NewModelRecord } from '../../src/store/models-repository.js';
import type { RunnerStore } from '../../src/worker/durable-jobs.js';
import type { ModelStore } from '../../src/worker/model-keeper.js';
import type {
  RunningTraining,
  TrainingListener,
  TrainingOutcome,
  TrainingPool,
} from '../../src/worker/training-pool.js';
import { toStoredJobSpec } from '../../src/domain/job-spec.js';
import { parsedSmallSpec } from '../helpers/specs.js';

export const jobId = '00000000-0000-4000-8000-000000000001';

export function fakeJob(overrides: Partial<Omit<Job, 'spec' | 'specError'>> = {}): Job {
  const now = new Date();
  return {
    id: jobId,
    name: null,
    dataset: 'mnist',
    spec: toStoredJobSpec(parsedSmallSpec()),
    specError: null,
    status: 'running',
    backend: 'cpu',
    parameterCount: 1,
    epoch: 0,
    step: 0,
    totalSteps: 64,
    inputShape: [],
    attempts: 1,
    handedBack: 0,
    leaseExpiresAt: null,
    leaseOwner: null,
    error: null,
    tags: [],
    owner: 'local',
    finalTestAccuracy: null,
    bestTestAccuracy: null,
    finalTestLoss: null,
    finalValidationAccuracy: null,
    finalValidationLoss: null,
    bestValidationAccuracy: null,
    bestEpoch: null,
    stoppedEarlyEpoch: null,
    stoppedEarlyReason: null,
    sweepId: null,
    sweepIndex: null,
    cancelReason: null,
    notes: null,
    pinned: false,
    retentionDays: null,
    retentionSource: null,
    expiresAt: null,
    maxDurationSeconds: null,
    durationMs: null,
    cancelRequestedAt: null,
    createdAt: now,
    startedAt: now,
    finishedAt: null,
    updatedAt: now,
    ...overrides,
  };
}

/** A store that keeps what is written, in order; `cancelCommitted` makes `finish` decide as Postgres does. */
export function fakeStore(job: Job = fakeJob()) {
  const writes: string[] = [];
  const state = { cancelCommitted: false, leaseHeld: true, finished: null as string | null };
  const store = {
    claim: vi.fn<RunnerStore['claim']>(() => Promise.resolve({ outcome: 'claimed', job })),
    extendLease: vi.fn<RunnerStore['extendLease']>(() => Promise.resolve(state.leaseHeld)),
    finish: vi.fn<RunnerStore['finish']>((_id, status) => {
      if (state.finished) return Promise.resolve(null);
      const written = state.cancelCommitted ? 'cancelled' : status;
      state.finished = written;
      writes.push(`finish ${written}`);
      return Promise.resolve(written);
    }),
    handBack: vi.fn<RunnerStore['handBack']>(() => {
      writes.push('hand-back');
      return Promise.resolve();
    }),
    cancelRequested: vi.fn<RunnerStore['cancelRequested']>((ids) =>
      Promise.resolve(state.cancelCommitted ? [...ids] : []),
    ),
    recordSteps: vi.fn<RunnerStore['recordSteps']>((_id, steps: readonly StepRecord[]) => {
      writes.push(`steps ${steps[0]?.step}-${steps.at(-1)?.step}`);
      return Promise.resolve();
    }),
    recordEpoch: vi.fn<RunnerStore['recordEpoch']>((_id, metrics) => {
      writes.push(`epoch ${metrics.epoch}`);
      return Promise.resolve();
    }),
    saveCheckpoint: vi.fn<RunnerStore['saveCheckpoint']>((_id, checkpoint) => {
      writes.push(`checkpoint ${checkpoint.step}`);
      return Promise.resolve();
    }),
    loadCheckpoint: vi.fn<RunnerStore['loadCheckpoint']>(() => Promise.resolve(null)),
    rewindTo: vi.fn<RunnerStore['rewindTo']>(() => Promise.resolve()),
    listEpochs: vi.fn<RunnerStore['listEpochs']>(() => Promise.resolve([])),
    recordStoppedEarly: vi.fn<RunnerStore['recordStoppedEarly']>(() => Promise.resolve()),
  } satisfies RunnerStore;
  return { store, writes, state };
}

/**
 * A model store that keeps records in memory and logs each write into `writes` (as `artifact <n>`
 * and `model <version> <epoch>`), so a test sees them in order with the store's other writes.
 */
export function fakeModelStore(writes: string[] = [], stored: NewModelRecord[] = []) {
  const records = new Map(stored.map((record) => [record.version, record]));
  let artifacts = 0;
  const store = {
    putArtifact: vi.fn<ModelStore['putArtifact']>(async (content) => {
      let bytes = 0;
      for await (const piece of content) bytes += piece.length;
      artifacts += 1;
      writes.push(`artifact ${artifacts}`);
      return { id: `00000000-0000-4000-8000-${String(artifacts).padStart(12, '0')}`, sha256: '', bytes };
    }),
    saveModel: vi.fn<ModelStore['saveModel']>((record) => {
      records.set(record.version, record);
      writes.push(`model ${record.version} ${record.epoch}`);
      return Promise.resolve({ ...record, createdAt: new Date() });
    }),
    findModel: vi.fn<ModelStore['findModel']>((_jobId, version) => {
      const record = records.get(version);
      return Promise.resolve(record ? ({ ...record, createdAt: new Date() } satisfies ModelRecord) : null);
    }),
    datasetInfo: vi.fn<ModelStore['datasetInfo']>((name) => Promise.resolve(bundledDataset(name))),
  } satisfies ModelStore;
  return { store, records };
}

/** One training the test ends by hand: `stops` records each stop request, `end` resolves its result. */
export interface DrivenTraining {
  listener: TrainingListener;
  stops: ('stop' | 'checkpoint')[];
  end(outcome: TrainingOutcome): void;
}

/** A pool whose trainings are driven by the test; `started` resolves with each one as it starts. */
export function fakePool() {
  const trainings: DrivenTraining[] = [];
  let notify: (training: DrivenTraining) => void = () => undefined;
  const pool = {
    ready: vi.fn<TrainingPool['ready']>(() => Promise.resolve('cpu')),
    run: vi.fn<TrainingPool['run']>((_jobId, _spec, listener) => {
      let end: (outcome: TrainingOutcome) => void = () => undefined;
      const result = new Promise<TrainingOutcome>((resolve) => (end = resolve));
      const training: DrivenTraining = { listener, stops: [], end };
      trainings.push(training);
      // Announced once the runner has it in hand, as a real pool's `run` resolves after the thread has the job.
      setImmediate(() => notify(training));
      const running: RunningTraining = { stop: (how = 'stop') => void training.stops.push(how), result };
      return Promise.resolve(running);
    }),
  } satisfies Pick<TrainingPool, 'ready' | 'run'>;
  return {
    pool,
    trainings,
    /** Resolves with the next training to start (or the last one, if it already has). */
    started: (): Promise<DrivenTraining> => new Promise((resolve) => (notify = resolve)),
  };
}

export function eventLog() {
  const events: JobEvent[] = [];
  return { events, publish: (event: JobEvent) => void events.push(event) };
}

export const statusesOf = (events: JobEvent[]) =>
  events.flatMap((event) => (event.type === 'status' ? [event.status] : []));
