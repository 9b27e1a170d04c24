import { z } from 'zod';
import type { PrismaClient } from '../database.js';
import { jobStatuses } from './sql.js';

const counts = z.array(z.object({ status: z.enum(jobStatuses), count: z.number().int() }));

/** How many jobs have each status (every status, 0 included): one GROUP BY, for metrics. */
export async function countJobsByStatus(prisma: PrismaClient): Promise<Record<string, number>> {
  const rows = counts.parse(
    await prisma.$queryRaw`SELECT status::text AS status, count(*)::int AS count FROM jobs GROUP BY status`,
  );
  const byStatus: Record<string, number> = Object.fromEntries(jobStatuses.map((status) => [status, 0]));
  for (const row of rows) byStatus[row.status] = row.count;
  return byStatus;
}
