import { randomUUID } from 'node:crypto';
import { bundledDataset, type DatasetInfo } from '../domain/datasets.js';
import { requestedDatasetName } from '../domain/job-spec.js';
import { metricValue } from '../domain/early-stopping.js';
import { specParameterCount, totalSteps } from '../domain/model-shape.js';
import {
  ashaDecision,
  ashaRungs,
  medianDecision,
  type TerminationDecision,
} from '../domain/sweeps/early-termination.js';
import { parseSweepSpec } from '../domain/sweeps/parse-sweep.js';
import type { SweepConfig, SweepSpec } from '../domain/sweeps/sweep-spec.js';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import type { QueuedJob } from '../queue/training-queue.js';
import type { JobsRepository, JobWithEpochs } from '../store/jobs-repository.js';
import type { Sweep, SweepDecision, SweepsRepository } from '../store/sweeps/sweeps-repository.js';
import { toEpochMetrics } from '../store/jobs/epoch-metrics.js';

export interface SweepDriverDeps {
  sweeps: SweepsRepository;
  jobs: Pick<JobsRepository, 'requestCancel' | 'countActive'>;
  /**
   * The most queued plus running jobs an owner may have (MAX_ACTIVE_JOBS_PER_OWNER with AUTH=required);
   * 0 or absent: no limit. A sweep's runs are its owner's jobs: at the limit, the sweep waits.
   */
  activeJobsPerOwner?: number;
  /** The dataset a sweep's runs name, bundled or uploaded (a run is checked against it, and sized by it). */
  findDataset: (name: string) => Promise<DatasetInfo | undefined>;
  /** Queues a committed run; may fail, the reconciler then queues it. */
  enqueue: (job: QueuedJob) => Promise<void>;
  /** Tells the worker holding a running run that its cancel was committed, best effort. */
  announceCancel: (jobId: string) => Promise<void>;
  publish: PublishEvent;
  logger: Logger;
  /** This driver's identity in sweep leases. */
  owner?: string;
  leaseMs: number;
}

const active = (run: JobWithEpochs) => run.status === 'queued' || run.status === 'running';

/** The configurations of a stored sweep, generated again: the same spec and seed give the same ones. */
export function sweepConfigs(spec: SweepSpec, dataset?: DatasetInfo): SweepConfig[] {
  const parsed = parseSweepSpec(spec, { maxParameters: Number.MAX_SAFE_INTEGER }, dataset);
  if (!parsed.ok) throw new Error(`stored sweep spec no longer valid: ${JSON.stringify(parsed.issues)}`);
  return parsed.configs;
}

/** One pending decision: a run's objective at an epoch, in the order the epochs were recorded. */
interface Candidate {
  run: JobWithEpochs;
  epoch: number;
  value: number;
  recordedAt: number;
}

function candidates(
  spec: SweepSpec,
  runs: readonly JobWithEpochs[],
  decided: ReadonlySet<string>,
  stopped: ReadonlySet<string>,
) {
  const found: Candidate[] = [];
  for (const run of runs) {
    if (stopped.has(run.id)) continue;
    for (const epoch of run.epochs) {
      const value = metricValue(toEpochMetrics(epoch), spec.objective.metric);
      if (value === undefined || decided.has(`${run.id}:${epoch.epoch}`)) continue;
      found.push({ run, epoch: epoch.epoch, value, recordedAt: epoch.createdAt.getTime() });
    }
  }
  return found.sort((a, b) => a.recordedAt - b.recordedAt || a.epoch - b.epoch);
}

function curveOf(spec: SweepSpec, run: JobWithEpochs): number[] {
  return run.epochs.map((epoch) => metricValue(toEpochMetrics(epoch), spec.objective.metric) ?? Number.NaN);
}

type Context = SweepDriverDeps & { owner: string };

async function stopRun({ sweeps, jobs, publish, announceCancel, logger }: Context, run: JobWithEpochs, reason: string) {
  await sweeps.setCancelReason(run.id, reason);
  const outcome = await jobs.requestCancel(run.id);
  logger.info({ jobId: run.id, sweepId: run.sweepId, reason }, 'sweep run stopped');
  if (outcome === 'cancelled') publish({ type: 'status', jobId: run.id, status: 'cancelled', error: null });
  if (outcome === 'requested')
    await announceCancel(run.id).catch((error: unknown) => logger.warn({ err: error }, 'could not announce a cancel'));
}

/** The rule's decision on one candidate; `atEpoch` holds the values of the runs decided at its epoch before it. */
function decide(
  spec: SweepSpec,
  candidate: Candidate,
  runs: readonly JobWithEpochs[],
  atEpoch: readonly number[],
): TerminationDecision {
  const rule = spec.earlyTermination;
  const goal = spec.objective.goal;
  if (!rule) return { stop: false };
  if (rule.type === 'asha') return ashaDecision(rule, goal, candidate.epoch, candidate.value, atEpoch);
  const others = runs.filter((run) => run.id !== candidate.run.id).map((run) => curveOf(spec, run));
  return medianDecision(rule, goal, candidate.epoch, curveOf(spec, candidate.run).slice(0, candidate.epoch), others);
}

/** Whether the rule decides at this run's epoch: ASHA at its rungs, the median rule from minEpochs to the last but one. */
function applies(spec: SweepSpec, candidate: Candidate): boolean {
  const rule = spec.earlyTermination;
  if (!rule || candidate.run.spec === null) return false;
  if (rule.type === 'asha') return ashaRungs(rule, candidate.run.spec.epochs).includes(candidate.epoch);
  return candidate.epoch >= rule.minEpochs && candidate.epoch < candidate.run.spec.epochs;
}

/** Takes every pending decision of the sweep, once each, in the order the epochs were recorded. */
async function terminate(context: Context, sweepId: string, spec: SweepSpec, runs: readonly JobWithEpochs[]) {
  const rule = spec.earlyTermination;
  if (!rule) return;
  const decisions: SweepDecision[] = await context.sweeps.decisions(sweepId);
  const decided = new Set(decisions.map((decision) => `${decision.jobId}:${decision.epoch}`));
  const stopped = new Set(decisions.filter((decision) => decision.stop).map((decision) => decision.jobId));
  for (const candidate of candidates(spec, runs, decided, stopped)) {
    if (stopped.has(candidate.run.id) || !applies(spec, candidate)) continue;
    const atEpoch = decisions
      .filter((decision) => decision.epoch === candidate.epoch)
      .map((decision) => decision.value);
    const decision = decide(spec, candidate, runs, atEpoch);
    const reason = decision.stop ? decision.reason : null;
    const row = { sweepId, jobId: candidate.run.id, epoch: candidate.epoch, rule: rule.type };
    // The unique (run, epoch) key: a decision another driver already took is not taken again.
    if (!(await context.sweeps.recordDecision({ ...row, value: candidate.value, stop: decision.stop, reason })))
      continue;
    decisions.push({ ...row, value: candidate.value, stop: decision.stop, reason, createdAt: new Date() });
    if (!decision.stop) continue;
    stopped.add(candidate.run.id);
    if (active(candidate.run)) await stopRun(context, candidate.run, decision.reason);
  }
}

/** Whether the sweep's owner may have one more queued or running job; at its quota the sweep waits. */
async function ownerHasRoom(context: Context, sweep: Sweep): Promise<boolean> {
  const limit = context.activeJobsPerOwner ?? 0;
  if (limit <= 0) return true;
  const active = await context.jobs.countActive(sweep.owner);
  if (active < limit) return true;
  context.logger.debug({ sweepId: sweep.id, owner: sweep.owner, active, limit }, 'sweep waits for its owner quota');
  return false;
}

/** The job of a configuration: sized by its dataset (a parameter may name another bundled one than the base's). */
function runOf(sweepId: string, config: SweepConfig, info: DatasetInfo) {
  const dataset = config.spec.dataset === info.name ? info : (bundledDataset(config.spec.dataset) ?? info);
  return {
    id: randomUUID(),
    spec: config.spec,
    parameterCount: specParameterCount(config.spec, dataset),
    totalSteps: totalSteps(config.spec, dataset),
    inputShape: dataset.inputShape,
    sweep: { id: sweepId, index: config.index },
  };
}

/** Launches runs, in index order, until maxParallel are queued or running (or the owner is at its quota). */
async function launch(
  context: Context,
  sweep: Sweep,
  configs: readonly SweepConfig[],
  runs: readonly JobWithEpochs[],
  info: DatasetInfo,
) {
  const { sweeps, logger } = context;
  const sweepId = sweep.id;
  let running = runs.filter(active).length;
  const launched = new Set(runs.map((run) => run.sweepIndex));
  for (const config of configs) {
    if (running >= sweep.spec.maxParallel) break;
    if (launched.has(config.index)) continue;
    if (!(await ownerHasRoom(context, sweep))) return;
    const created = await sweeps.launchRun(context.owner, runOf(sweepId, config, info));
    if (!created) return;
    running += 1;
    logger.info(
      { sweepId, jobId: created.id, index: config.index, parameters: config.parameters },
      'sweep run launched',
    );
    await context
      .enqueue({ id: created.id, accelerator: created.spec?.accelerator })
      .catch((error: unknown) =>
        logger.warn({ err: error, jobId: created.id }, 'could not queue a sweep run; the reconciler will'),
      );
    context.publish({ type: 'status', jobId: created.id, status: 'queued', error: null });
  }
}

/** One pass over a held sweep: decisions, launches, and its end once every run has ended. */
async function step(context: Context, sweepId: string): Promise<void> {
  const { sweeps, logger } = context;
  const sweep = await sweeps.find(sweepId);
  if (!sweep || sweep.status !== 'running') return;
  const datasetName = requestedDatasetName(sweep.spec.base);
  const info = await context.findDataset(datasetName);
  if (!info) throw new Error(`sweep ${sweepId}: there is no dataset called "${datasetName}"`);
  const configs = sweepConfigs(sweep.spec, info);
  await terminate(context, sweepId, sweep.spec, await sweeps.runs(sweepId));
  await launch(context, sweep, configs, await sweeps.runs(sweepId), info);
  const after = await sweeps.runs(sweepId);
  if (after.length >= configs.length && !after.some(active) && (await sweeps.end(sweepId, 'completed')))
    logger.info({ sweepId, runs: after.length }, 'sweep completed');
}

/**
 * Drives sweeps from a worker process: whichever driver holds a sweep's lease launches its runs (at
 * most maxParallel queued or running, each index once), takes each early-termination decision once
 * (recorded with a unique key), stops the runs a rule stops through the ordinary cancel path, and
 * ends the sweep. Everything it knows is read from Postgres each tick, so another driver takes over
 * where a killed one left off.
 */
export function createSweepDriver(deps: SweepDriverDeps) {
  const context: Context = { ...deps, owner: deps.owner ?? randomUUID() };
  return {
    owner: context.owner,
    /** Takes or renews the leases it can and drives each sweep it holds one step. */
    async tick(): Promise<void> {
      for (const sweepId of await deps.sweeps.holdLeases(context.owner, deps.leaseMs)) {
        try {
          await step(context, sweepId);
        } catch (error) {
          deps.logger.warn({ err: error, sweepId }, 'sweep step failed; trying again at the next tick');
        }
      }
    },
  };
}

export type SweepDriver = ReturnType<typeof createSweepDriver>;

/** Ticks `driver` every `intervalMs` until stopped; a failed tick is logged and the next one tries again. */
export function startSweepDriver(driver: SweepDriver, intervalMs: number, logger: Logger) {
  let stopped = false;
  let busy = false;
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    // A slow tick is not stacked on: the next one starts at the first interval after it ends.
    if (stopped || busy) return;
    busy = true;
    current = driver
      .tick()
      .catch((error: unknown) => logger.warn({ err: error }, 'sweep driver tick failed'))
      .finally(() => (busy = false));
  }, intervalMs);
  return {
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
