import { randomUUID } from 'node:crypto';
import { InvalidRequest, InvalidSweep, SweepAlreadyFinished, SweepNotFound } from '../domain/errors.js';
import { bundledDataset } from '../domain/datasets.js';
import { requestedDatasetName, type SpecLimits } from '../domain/job-spec.js';
import { parseSweepSpec } from '../domain/sweeps/parse-sweep.js';
import type { SweepConfig } from '../domain/sweeps/sweep-spec.js';
import type { Logger } from '../logger.js';
import type { JobWithEpochs } from '../store/jobs-repository.js';
import type { Sweep, SweepsRepository } from '../store/sweeps/sweeps-repository.js';
import type { JobsService } from './jobs-service.js';
import type { DatasetInfo } from '../domain/datasets.js';
import type { Viewer } from '../domain/access.js';
import { uuidPattern } from './schemas/common.js';
import { guardStore } from './store-guard.js';
import { sweepLeaderboard, sweepSummary, sweepView } from './sweep-view.js';

/** Finds a sweep's dataset by name; sweeps are not owned yet, so any dataset's. */
type DatasetResolver = (name: string) => Promise<DatasetInfo | undefined>;

// Sweeps are not owned yet: the service acts on their runs as an admin would (the routes are admin only).
const sweepAdmin: Viewer = { owner: 'local', role: 'admin' };

export interface SweepsServiceDeps {
  sweeps: SweepsRepository;
  /** Cancels and compares runs as any job. */
  jobs: Pick<JobsService, 'cancel' | 'compare'>;
  limits: SpecLimits;
  /** The dataset of a name, bundled or uploaded, or undefined; bundled ones only when absent. */
  findDataset?: DatasetResolver;
  logger: Logger;
}

/** A sweep, its configurations (generated again from its spec) and its runs. */
export interface SweepState {
  sweep: Sweep;
  configs: SweepConfig[];
  runs: JobWithEpochs[];
}

function checkSweepId(id: string): string {
  if (!uuidPattern.test(id))
    throw new InvalidRequest('invalid_id', 'sweep id must be a UUID', [{ path: 'id', message: 'must be a UUID' }]);
  return id.toLowerCase();
}

/** The dataset a sweep spec's base names (a raw body's `base`, or a stored spec's). */
function baseDatasetName(spec: unknown): string {
  const base = spec && typeof spec === 'object' && 'base' in spec ? spec.base : undefined;
  return requestedDatasetName(base);
}

/** A stored sweep's configurations, generated again from its spec against its dataset. */
async function storedConfigs(sweep: Sweep, findDataset: DatasetResolver): Promise<SweepConfig[]> {
  const dataset = await findDataset(baseDatasetName(sweep.spec));
  const parsed = parseSweepSpec(sweep.spec, { maxParameters: Number.MAX_SAFE_INTEGER }, dataset);
  if (!parsed.ok) throw new Error(`stored sweep ${sweep.id} no longer parses: ${JSON.stringify(parsed.issues)}`);
  return parsed.configs;
}

/** Creating, reading, cancelling and comparing sweeps; their runs are launched by the sweep driver in the workers. */
export function createSweepsService(deps: SweepsServiceDeps) {
  const sweeps = guardStore(deps.sweeps);
  const findDataset: DatasetResolver = deps.findDataset ?? ((name) => Promise.resolve(bundledDataset(name)));
  const configsOf = (sweep: Sweep) => storedConfigs(sweep, findDataset);

  async function state(id: string): Promise<SweepState> {
    const sweep = await sweeps.find(checkSweepId(id));
    if (!sweep) throw new SweepNotFound(id);
    return { sweep, configs: await configsOf(sweep), runs: await sweeps.runs(sweep.id) };
  }

  return {
    state,

    /** Validates a sweep spec (every generated run with the job-spec schema) and stores it; a worker's driver launches its runs. */
    async create(body: unknown) {
      const parsed = parseSweepSpec(body, deps.limits, await findDataset(baseDatasetName(body)));
      if (!parsed.ok) throw new InvalidSweep(parsed.issues);
      const sweep = await sweeps.create({ id: randomUUID(), spec: parsed.sweep, runCount: parsed.configs.length });
      deps.logger.info({ sweepId: sweep.id, runs: parsed.configs.length }, 'sweep created');
      return sweepView(sweep, parsed.configs, []);
    },

    async get(id: string) {
      const { sweep, configs, runs } = await state(id);
      return sweepView(sweep, configs, runs);
    },

    async list() {
      const all = await sweeps.list();
      return Promise.all(
        all.map(async (sweep) => sweepSummary(sweep, await configsOf(sweep), await sweeps.runs(sweep.id))),
      );
    },

    /** Stops launching runs and cancels the queued and running ones, each with the reason. */
    async cancel(id: string) {
      const { sweep } = await state(id);
      if (!(await sweeps.end(sweep.id, 'cancelled'))) {
        const current = await state(id);
        throw new SweepAlreadyFinished(sweep.id, current.sweep.status);
      }
      // The sweep's row lock orders this after any launch in flight: every run launched is listed here.
      const runs = await sweeps.runs(sweep.id);
      for (const run of runs.filter((candidate) => ['queued', 'running'].includes(candidate.status))) {
        await sweeps.setCancelReason(run.id, 'sweep cancelled');
        await deps.jobs
          .cancel(sweepAdmin, run.id)
          .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not cancel a run'));
      }
      return this.get(id);
    },

    /** /compare for the sweep's `top` best runs. */
    async compare(id: string, top: number, points: number) {
      const { sweep, configs, runs } = await state(id);
      const best = sweepLeaderboard(sweep, configs, runs)
        .slice(0, top)
        .map((entry) => entry.jobId);
      if (best.length < 2)
        throw new InvalidRequest('invalid_query', `sweep ${sweep.id} has ${best.length} runs; comparing needs 2`, [
          { path: 'sweep', message: 'has fewer than 2 runs' },
        ]);
      return deps.jobs.compare(sweepAdmin, best, points);
    },
  };
}

export type SweepsService = ReturnType<typeof createSweepsService>;
