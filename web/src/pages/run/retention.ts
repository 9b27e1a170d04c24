import type { Job } from '@trainer/client';

const sources: Record<NonNullable<Job['retention']>['source'], string> = {
  job: 'set on the run',
  sweep: 'from its sweep',
  owner: 'from owner default',
  server: 'from server default',
};

const day = (iso: string) => new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });

/**
 * How long a finished run is kept, in a line: "expires on <date> (retention 30 days, from owner
 * default)", "kept: pinned" or "kept forever"; null while it runs (its retention is fixed when it ends).
 */
export function retentionLine(job: Pick<Job, 'finishedAt' | 'pinned' | 'retention' | 'expiresAt'>): string | null {
  if (job.finishedAt === null) return null;
  if (job.pinned) return 'kept: pinned';
  const { retention, expiresAt } = job;
  if (retention === null || retention.days === null || expiresAt === null)
    return retention === null ? 'kept forever' : `kept forever (${sources[retention.source]})`;
  const days = retention.days === 1 ? '1 day' : `${retention.days.toLocaleString('en-US')} days`;
  return `expires on ${day(expiresAt)} (retention ${days}, ${sources[retention.source]})`;
}
