import { z } from 'zod';
import { jobStatuses } from './jobs/sql.js';
import { queryRows, type PrismaClient } from './database.js';
import { Prisma } from './generated/client.js';
import type { JobStatus } from './generated/enums.js';

/** What an owner used in a period: its runs by status, their training time and what is stored. */
export interface Usage {
  runs: Record<JobStatus, number>;
  /** Summed durations of the runs that ended. */
  trainingSeconds: number;
  storedBytes: { history: number; models: number; checkpoints: number; datasets: number };
}

export const emptyUsage = (): Usage => ({
  runs: { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
  trainingSeconds: 0,
  storedBytes: { history: 0, models: 0, checkpoints: 0, datasets: 0 },
});

// Sums come back from pg as text (bigint and numeric).
const count = z.coerce.number();
const runRows = z.array(
  z.object({
    owner: z.string(),
    status: z.enum(jobStatuses),
    runs: count,
    trainingMs: count,
    history: count,
    models: count,
    checkpoints: count,
  }),
);
const datasetRows = z.array(z.object({ owner: z.string(), bytes: count }));

/**
 * Runs of the period (created since `since`) grouped by owner and status, with the bytes each
 * group keeps: its loss history (step chunks, downsampled samples and epoch metrics, as Postgres
 * stores them), its models' artifacts (shared ones once) and its checkpoints.
 */
function runsQuery(since: Date | null, owner: string | undefined): Prisma.Sql {
  const inPeriod = since === null ? Prisma.empty : Prisma.sql`AND j.created_at >= ${since}`;
  const ofOwner = owner === undefined ? Prisma.empty : Prisma.sql`AND j.owner = ${owner}`;
  return Prisma.sql`
    SELECT j.owner, j.status::text AS status, count(*) AS runs,
      COALESCE(sum(j.duration_ms) FILTER (WHERE j.finished_at IS NOT NULL), 0) AS "trainingMs",
      COALESCE(sum(
        (SELECT COALESCE(sum(pg_column_size(c.*)), 0) FROM step_chunks c WHERE c.job_id = j.id)
        + (SELECT COALESCE(sum(pg_column_size(s.*)), 0) FROM history_samples s WHERE s.job_id = j.id)
        + (SELECT COALESCE(sum(pg_column_size(e.*)), 0) FROM epoch_metrics e WHERE e.job_id = j.id)), 0) AS history,
      COALESCE(sum(
        (SELECT COALESCE(sum(a.bytes), 0) FROM artifacts a WHERE a.id IN (
          SELECT m.model_json_artifact_id FROM models m WHERE m.job_id = j.id
          UNION SELECT m.weights_artifact_id FROM models m WHERE m.job_id = j.id))), 0) AS models,
      COALESCE(sum(
        (SELECT COALESCE(sum(octet_length(k.tensors) + pg_column_size(k.state)), 0) FROM checkpoints k
         WHERE k.job_id = j.id)), 0) AS checkpoints
    FROM jobs j WHERE true ${inPeriod} ${ofOwner}
    GROUP BY j.owner, j.status`;
}

function datasetsQuery(since: Date | null, owner: string | undefined): Prisma.Sql {
  const inPeriod = since === null ? Prisma.empty : Prisma.sql`AND created_at >= ${since}`;
  const ofOwner = owner === undefined ? Prisma.empty : Prisma.sql`AND owner = ${owner}`;
  return Prisma.sql`
    SELECT owner, COALESCE(sum(bytes), 0) AS bytes FROM datasets WHERE true ${inPeriod} ${ofOwner} GROUP BY owner`;
}

/** Usage per owner, of everything or of what was created since `since`; only `owner`'s when given. */
export function createUsageRepository(prisma: PrismaClient) {
  return {
    async byOwner(since: Date | null, owner?: string): Promise<Map<string, Usage>> {
      const [runs, datasets] = await Promise.all([
        queryRows(prisma, runsQuery(since, owner)).then((rows) => runRows.parse(rows)),
        queryRows(prisma, datasetsQuery(since, owner)).then((rows) => datasetRows.parse(rows)),
      ]);
      const usage = new Map<string, Usage>();
      const of = (name: string) => {
        const found = usage.get(name) ?? emptyUsage();
        usage.set(name, found);
        return found;
      };
      for (const row of runs) {
        const entry = of(row.owner);
        entry.runs[row.status] += row.runs;
        entry.trainingSeconds += row.trainingMs / 1000;
        entry.storedBytes.history += row.history;
        entry.storedBytes.models += row.models;
        entry.storedBytes.checkpoints += row.checkpoints;
      }
      for (const row of datasets) of(row.owner).storedBytes.datasets += row.bytes;
      return usage;
    },
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
