import { randomUUID } from 'node:crypto';
import type { Viewer } from '../../domain/access.js';
import { CheckpointNotKept, InvalidRequest, InvalidSpec, type FieldIssue } from '../../domain/errors.js';
import { forkSpecBody, parseForkRequest, resumedState, type ForkRequest, type Resumed } from '../../domain/fork.js';
import { parseJobSpec, type SpecLimits, type StoredJobSpec } from '../../domain/job-spec.js';
import { specParameterCount, stepsPerEpoch } from '../../domain/model-shape.js';
import type { JobsRepository, JobWithEpochs, NewJob } from '../../store/jobs-repository.js';
import { checkIdempotencyKey, ownKey, requestHash, type DatasetResolver, type Submission } from './submit-job.js';

export interface Forked {
  job: JobWithEpochs;
  replayed: boolean;
}

export interface ForkDeps {
  jobs: Pick<JobsRepository, 'listKeptCheckpoints' | 'createFork'>;
  /** The job if the viewer may see it; JobNotFound otherwise. */
  visibleJob: (viewer: Viewer, id: string) => Promise<JobWithEpochs>;
  submission: Pick<Submission, 'replay' | 'queue'>;
  limits: SpecLimits;
  findDataset: DatasetResolver;
  admit?: (owner: string) => Promise<void>;
}

/** Spec issues of overridden fields, named as the request named them (`overrides.learningRate`). */
function forkIssues(issues: readonly FieldIssue[], overrides: ForkRequest['overrides']): FieldIssue[] {
  return issues.map((issue) => {
    const field = issue.path.split('.')[0] ?? '';
    return Object.hasOwn(overrides, field) ? { ...issue, path: `overrides.${issue.path}` } : issue;
  });
}

/** The kept epoch a fork starts from: the one asked for, or the latest; CheckpointNotKept when there is none. */
async function forkEpoch(jobs: ForkDeps['jobs'], parent: JobWithEpochs, fromEpoch: number | undefined) {
  const kept = await jobs.listKeptCheckpoints(parent.id);
  const epochs = kept.map((checkpoint) => checkpoint.epoch);
  const chosen = fromEpoch === undefined ? kept.at(-1) : kept.find((checkpoint) => checkpoint.epoch === fromEpoch);
  if (!chosen) throw new CheckpointNotKept(parent.id, fromEpoch, epochs);
  return chosen;
}

/** The new job of a fork: the parent's spec with the overrides, checked as any submission is. */
async function childJob(
  deps: ForkDeps,
  viewer: Viewer,
  parentSpec: StoredJobSpec,
  request: ForkRequest,
  from: { epoch: number; step: number },
): Promise<{ job: NewJob; resumed: Resumed }> {
  const body = forkSpecBody(parentSpec, request.overrides);
  const info = await deps.findDataset(parentSpec.dataset, viewer.owner);
  const parsed = parseJobSpec(body, deps.limits, info);
  if (!parsed.ok) throw new InvalidSpec(forkIssues(parsed.issues, request.overrides));
  if (!info) throw new Error(`dataset ${parentSpec.dataset} vanished while parsing`);
  const spec = { ...parsed.spec, seed: parentSpec.seed };
  if (spec.epochs <= from.epoch) {
    throw InvalidRequest.of('fork', [
      {
        path: 'overrides.epochs',
        message: `must be more than the fork's epoch ${from.epoch}, or there is nothing to train`,
      },
    ]);
  }
  // Steps number on from the fork point, so the child's history continues its parent's on one axis.
  const totalSteps = from.step + (spec.epochs - from.epoch) * stepsPerEpoch(spec, info);
  return {
    job: {
      id: randomUUID(),
      spec,
      parameterCount: specParameterCount(spec, info),
      totalSteps,
      inputShape: info.inputShape,
      owner: viewer.owner,
    },
    resumed: resumedState(parentSpec, spec),
  };
}

/**
 * Forks a job the viewer sees from one of its kept checkpoints into a new queued job, through the
 * submission's quotas, idempotency keys and queueing. A running job forks from its last finished epoch.
 */
export function createFork(deps: ForkDeps) {
  const { jobs, submission } = deps;
  return async function fork(viewer: Viewer, id: string, body: unknown, idempotencyKey?: string): Promise<Forked> {
    checkIdempotencyKey(idempotencyKey);
    const parent = await deps.visibleJob(viewer, id);
    // The same key for a submission and a fork, or forks of two jobs, are different requests.
    const bodyHash = idempotencyKey === undefined ? '' : requestHash({ forkOf: parent.id, body: body ?? null });
    const key = ownKey(viewer.owner, idempotencyKey);
    const earlier = await submission.replay(key, bodyHash);
    if (earlier) return earlier;
    const parsed = parseForkRequest(body);
    if (!parsed.ok) throw InvalidRequest.of('fork', parsed.issues);
    if (!parent.spec) throw InvalidRequest.of('fork', [{ path: 'id', message: `its stored spec is no longer valid` }]);
    const from = await forkEpoch(jobs, parent, parsed.request.fromEpoch);
    const { job, resumed } = await childJob(deps, viewer, parent.spec, parsed.request, from);
    await deps.admit?.(viewer.owner);
    const created = await jobs.createFork({
      job,
      parentJobId: parent.id,
      parentEpoch: from.epoch,
      optimizerState: resumed.optimizerState,
      dataOrder: resumed.dataOrder,
      ...(key === undefined ? {} : { key: { key, bodyHash } }),
    });
    if ('job' in created) {
      await submission.queue(created.job);
      return { job: created.job, replayed: false };
    }
    if (created.outcome === 'key-taken') {
      const raced = await submission.replay(key, bodyHash);
      if (raced) return raced;
    }
    // Retention let go of the checkpoint meanwhile.
    await forkEpoch(jobs, parent, from.epoch);
    throw new CheckpointNotKept(parent.id, from.epoch, []);
  };
}
