import { randomUUID } from 'node:crypto';
import { InvalidRequest, InvalidSweep, SweepAlreadyFinished, SweepNotFound } from '../../domain/errors.js';
import { bundledDataset } from '../../domain/datasets.js';
import { requestedDatasetName, type SpecLimits } from '../../domain/job-spec.js';
import { parseSweepSpec } from '../../domain/sweeps/parse-sweep.js';
import { acceleratorRefusal, type AcceleratorAvailable } from '../jobs/accelerators.js';
import type { SweepConfig } from '../../domain/sweeps/sweep-spec.js';
import type { Logger } from '../../logger.js';
import type { JobWithEpochs } from '../../store/jobs-repository.js';
import type { Sweep, SweepsRepository } from '../../store/sweeps/sweeps-repository.js';
import type { JobsService } from '../jobs/jobs-service.js';
import type { DatasetInfo } from '../../domain/datasets.js';
import { visibleOwner, type Viewer } from '../../domain/access.js';
import { decodeCursor, encodeCursor } from '../http/run-cursor.js';
import { uuidPattern } from '../http/common-schemas.js';
import { guardStore } from '../http/store-guard.js';
import { sweepLeaderboard, sweepSummary, sweepView } from './sweep-view.js';

/** Finds a dataset by name for an owner: a bundled one, or one that owner uploaded. */
type DatasetResolver = (name: string, owner: string) => Promise<DatasetInfo | undefined>;

/** GET /sweeps's filter and page, with the cursor as the client holds it. */
export interface SweepListRequest {
  /** Only this owner's sweeps; honoured for admins, who otherwise see every owner's. */
  owner?: string;
  cursor?: string;
  limit: number;
}

export interface SweepsServiceDeps {
  sweeps: SweepsRepository;
  /** Cancels and compares runs, as the viewer that asked (a sweep's runs are its owner's jobs). */
  jobs: Pick<JobsService, 'cancel' | 'compare'>;
  /** Admits one more submission of an owner or throws (quotas, submission rate); absent with AUTH=off. */
  admit?: (owner: string) => Promise<void>;
  limits: SpecLimits;
  /** The dataset of a name for an owner, bundled or its upload, or undefined; bundled ones only when absent. */
  findDataset?: DatasetResolver;
  /** As for jobs: a sweep whose runs ask for an accelerator no live worker offers is refused unless they may wait. */
  acceleratorAvailable?: AcceleratorAvailable;
  logger: Logger;
}

/** Refuses a sweep whose runs ask for an accelerator no live worker offers, unless they may wait. */
async function refuseMissingAccelerator(configs: readonly SweepConfig[], available: AcceleratorAvailable | undefined) {
  // Every run that asks and may not wait asks for the same answer: look once.
  const asking = configs.find((config) => config.spec.accelerator === 'gpu' && config.spec.waitForAccelerator !== true);
  const refusal = asking ? await acceleratorRefusal(asking.spec, available) : null;
  if (refusal) throw new InvalidSweep([{ path: 'base.accelerator', message: refusal }]);
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

/** A stored sweep's configurations, generated again from its spec against its owner's dataset. */
export async function storedConfigs(sweep: Sweep, findDataset: DatasetResolver): Promise<SweepConfig[]> {
  const dataset = await findDataset(baseDatasetName(sweep.spec), sweep.owner);
  const parsed = parseSweepSpec(sweep.spec, { maxParameters: Number.MAX_SAFE_INTEGER }, dataset);
  if (!parsed.ok) throw new Error(`stored sweep ${sweep.id} no longer parses: ${JSON.stringify(parsed.issues)}`);
  return parsed.configs;
}

/** Where a page of sweeps ended: a run cursor of the one order sweeps are listed in. */
const listOrder = { sort: 'created', order: 'desc' } as const;

async function listSweeps(
  sweeps: SweepsRepository,
  configsOf: (sweep: Sweep) => Promise<SweepConfig[]>,
  viewer: Viewer,
  request: SweepListRequest,
) {
  const position = request.cursor && decodeCursor(request.cursor, listOrder.sort, listOrder.order);
  const owner = visibleOwner(viewer) ?? request.owner;
  const page = await sweeps.list({
    limit: request.limit,
    ...(owner === undefined ? {} : { owner }),
    ...(position ? { after: { createdAt: position.key, id: position.id } } : {}),
  });
  const last = page.sweeps.at(-1);
  const nextCursor =
    page.more && last ? encodeCursor({ ...listOrder, key: last.createdAt.getTime(), id: last.id }) : null;
  const summaries = await Promise.all(
    page.sweeps.map(async (sweep) => sweepSummary(sweep, await configsOf(sweep), await sweeps.runs(sweep.id))),
  );
  return { sweeps: summaries, nextCursor };
}

/**
 * Creating, reading, cancelling and comparing sweeps; their runs are launched by the sweep driver in
 * the workers. Every operation takes the `Viewer` it acts for and sees only that viewer's sweeps (an
 * admin's: all); another owner's sweep is SweepNotFound, exactly like one that does not exist.
 */
export function createSweepsService(deps: SweepsServiceDeps) {
  const sweeps = guardStore(deps.sweeps);
  const findDataset: DatasetResolver = deps.findDataset ?? ((name) => Promise.resolve(bundledDataset(name)));
  const configsOf = (sweep: Sweep) => storedConfigs(sweep, findDataset);

  async function state(viewer: Viewer, id: string): Promise<SweepState> {
    const sweep = await sweeps.find(checkSweepId(id), visibleOwner(viewer));
    if (!sweep) throw new SweepNotFound(id);
    return { sweep, configs: await configsOf(sweep), runs: await sweeps.runs(sweep.id) };
  }

  async function get(viewer: Viewer, id: string) {
    const { sweep, configs, runs } = await state(viewer, id);
    return sweepView(sweep, configs, runs);
  }

  return {
    state,
    get,

    /**
     * Validates a sweep spec (every generated run with the job-spec schema, against the viewer's
     * datasets) and stores it as the viewer's; a worker's driver launches its runs.
     */
    async create(viewer: Viewer, body: unknown) {
      const parsed = parseSweepSpec(body, deps.limits, await findDataset(baseDatasetName(body), viewer.owner));
      if (!parsed.ok) throw new InvalidSweep(parsed.issues);
      await refuseMissingAccelerator(parsed.configs, deps.acceleratorAvailable);
      await deps.admit?.(viewer.owner);
      const sweep = await sweeps.create({
        id: randomUUID(),
        spec: parsed.sweep,
        runCount: parsed.configs.length,
        owner: viewer.owner,
      });
      deps.logger.info({ sweepId: sweep.id, owner: sweep.owner, runs: parsed.configs.length }, 'sweep created');
      return sweepView(sweep, parsed.configs, []);
    },

    /** A page of the sweeps `viewer` sees, newest first, and the cursor of the next. */
    list: (viewer: Viewer, request: SweepListRequest) => listSweeps(sweeps, configsOf, viewer, request),

    /** Stops launching runs and cancels the queued and running ones, each with the reason. */
    async cancel(viewer: Viewer, id: string) {
      const { sweep } = await state(viewer, id);
      if (!(await sweeps.end(sweep.id, 'cancelled'))) {
        const current = await state(viewer, id);
        throw new SweepAlreadyFinished(sweep.id, current.sweep.status);
      }
      // The sweep's row lock orders this after any launch in flight: every run launched is listed here.
      const runs = await sweeps.runs(sweep.id);
      for (const run of runs.filter((candidate) => ['queued', 'running'].includes(candidate.status))) {
        await sweeps.setCancelReason(run.id, 'sweep cancelled');
        await deps.jobs
          .cancel(viewer, run.id)
          .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not cancel a run'));
      }
      return get(viewer, id);
    },

    /** /compare for the sweep's `top` best runs. */
    async compare(viewer: Viewer, id: string, top: number, points: number) {
      const { sweep, configs, runs } = await state(viewer, id);
      const best = sweepLeaderboard(sweep, configs, runs)
        .slice(0, top)
        .map((entry) => entry.jobId);
      if (best.length < 2)
        throw new InvalidRequest('invalid_query', `sweep ${sweep.id} has ${best.length} runs; comparing needs 2`, [
          { path: 'sweep', message: 'has fewer than 2 runs' },
        ]);
      return deps.jobs.compare(viewer, best, points);
    },
  };
}

export type SweepsService = ReturnType<typeof createSweepsService>;
