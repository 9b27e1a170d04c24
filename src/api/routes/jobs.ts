import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jobStatuses, runSorts } from '../../store/jobs-repository.js';
import type { JobsService } from '../jobs-service.js';
import { jobView, runSummary } from '../job-view.js';
import { ApiError } from '../errors.js';
import { historyBody } from '../history-body.js';
import { isUuid, parseRequest } from '../validation.js';
import { text } from '../../domain/text.js';

const historyQuery = z.strictObject({
  points: z.coerce.number().int().min(2).max(1_000_000).optional(),
});

const listQuery = z.strictObject({
  status: z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()))
    .pipe(z.array(z.enum(jobStatuses)))
    .optional(),
  dataset: text().max(100).optional(),
  name: text().min(1).max(200).optional(),
  tag: text().min(1).max(50).optional(),
  sort: z.enum(runSorts).default('created'),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional(),
});

interface Cursor {
  sort: string;
  order: string;
  key: number;
  id: string;
}

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeCursor(value: string, sort: string, order: string): { key: number; id: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  const cursor: Partial<Cursor> = decoded !== null && typeof decoded === 'object' ? (decoded as Partial<Cursor>) : {};
  if (
    typeof cursor.key !== 'number' ||
    !Number.isFinite(cursor.key) ||
    typeof cursor.id !== 'string' ||
    !isUuid(cursor.id)
  ) {
    throw new ApiError(400, 'invalid_query', 'invalid query: cursor', [
      { path: 'cursor', message: 'is not a cursor this API issued' },
    ]);
  }
  if (cursor.sort !== sort || cursor.order !== order) {
    throw new ApiError(400, 'invalid_query', 'invalid query: cursor', [
      { path: 'cursor', message: `belongs to sort=${cursor.sort}&order=${cursor.order}; repeat those with it` },
    ]);
  }
  return { key: cursor.key, id: cursor.id };
}

export function jobRoutes(app: FastifyInstance, jobs: JobsService): void {
  app.post('/jobs', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (Array.isArray(key)) throw new ApiError(400, 'invalid_idempotency_key', 'send one Idempotency-Key header');
    const { job, replayed } = await jobs.submit(request.body, key);
    if (replayed) void reply.header('idempotent-replayed', 'true');
    return reply.status(201).header('location', `/jobs/${job.id}`).send(jobView(job));
  });

  app.get('/jobs', async (request) => {
    const query = parseRequest(listQuery, request.query);
    const { runs, keys, more } = await jobs.list({
      ...(query.status ? { statuses: query.status } : {}),
      ...(query.dataset ? { dataset: query.dataset } : {}),
      ...(query.name ? { nameContains: query.name } : {}),
      ...(query.tag ? { tag: query.tag } : {}),
      sort: query.sort,
      order: query.order,
      limit: query.limit,
      ...(query.cursor ? { after: decodeCursor(query.cursor, query.sort, query.order) } : {}),
    });
    const last = runs.at(-1);
    const nextCursor =
      last && more
        ? encodeCursor({ sort: query.sort, order: query.order, key: keys.at(-1) as number, id: last.id })
        : null;
    return { runs: runs.map(runSummary), nextCursor };
  });

  app.get<{ Params: { id: string } }>('/jobs/:id', async (request) => jobView(await jobs.get(request.params.id)));

  app.get<{ Params: { id: string } }>('/jobs/:id/history', async (request, reply) => {
    const { points } = parseRequest(historyQuery, request.query);
    // Unknown jobs and an unreachable database fail here, before the body starts.
    const history = await jobs.history(request.params.id, points);
    return reply
      .type('application/json; charset=utf-8')
      .send(Readable.from(historyBody(request.params.id.toLowerCase(), history)));
  });

  app.post<{ Params: { id: string } }>('/jobs/:id/cancel', async (request, reply) => {
    const job = await jobs.cancel(request.params.id);
    // 200 when the job is already cancelled; 202 while its worker is stopping it.
    return reply.status(job.status === 'cancelled' ? 200 : 202).send(jobView(job));
  });
}
