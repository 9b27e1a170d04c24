import type { JobsRepository, StepRecord } from '../../store/jobs-repository.js';
import { lttb } from '../../history/downsample.js';

/** One run's part of a lineage's history: its steps after the previous part, through `lastStep`. */
export interface LineageSegment {
  jobId: string;
  /** The last step of this run in the lineage: its fork point for an ancestor, its last step for the run itself. */
  lastStep: number;
}

type Store = Pick<JobsRepository, 'forkStart' | 'ownerOf' | 'historyPages' | 'historyExtent'>;

// A lineage longer than this is cut at its oldest known ancestors: forks of forks this deep are
// someone's loop, and each level costs a query.
const maxDepth = 100;

/**
 * The runs whose steps make up `jobId`'s history on one step axis: its ancestors from the oldest,
 * each through the step its child was forked at, then the run itself. The chain ends at a parent
 * that was deleted or that `owner` (when given) may not see.
 */
export async function lineageSegments(jobs: Store, jobId: string, owner?: string): Promise<LineageSegment[]> {
  const { lastStep } = await jobs.historyExtent(jobId);
  const segments: LineageSegment[] = [{ jobId, lastStep }];
  let current = jobId;
  for (let depth = 0; depth < maxDepth; depth++) {
    const fork = await jobs.forkStart(current);
    if (!fork) break;
    const parentOwner = await jobs.ownerOf(fork.parentJobId);
    if (parentOwner === null || (owner !== undefined && parentOwner !== owner)) break;
    segments.unshift({ jobId: fork.parentJobId, lastStep: fork.parentStep });
    current = fork.parentJobId;
  }
  return segments;
}

/** The steps of a lineage in order, a page at a time: each run's steps after the part before it. */
export async function* lineageSteps(jobs: Store, segments: readonly LineageSegment[]): AsyncGenerator<StepRecord[]> {
  let after = 0;
  for (const segment of segments) {
    for await (const page of jobs.historyPages(segment.jobId, { after, through: segment.lastStep })) yield page;
    after = Math.max(after, segment.lastStep);
  }
}

/** A lineage's steps downsampled (LTTB) to about `points`, always keeping the first and last. */
export async function sampledLineageSteps(
  jobs: Store,
  segments: readonly LineageSegment[],
  points: number,
): Promise<{ steps: StepRecord[]; total: number }> {
  const all: StepRecord[] = [];
  for await (const page of lineageSteps(jobs, segments)) all.push(...page);
  return {
    steps: lttb(
      all,
      points,
      (step) => step.step,
      (step) => step.loss,
    ),
    total: all.length,
  };
}
