import { answerDeleted, keyedRoute } from './keyed-route.js';
import type { Viewer } from '../../domain/access.js';
import { bodyCheckedByService, typedSuccessSerializer } from '../validation.js';
import { Readable } from 'node:stream';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { JobsService, RunListRequest } from '../jobs-service.js';
import { jobView, runSummary } from '../job-view.js';
import { historyBody } from '../history-body.js';
import { deleted, errorBody, jobIdParams } from '../schemas/common.js';
import { historyBody as historySchema, historyQuery, type HistoryBody } from '../schemas/history.js';
import {
  jobSpecBody,
  jobView as jobSchema,
  runList,
  runListQuery,
  submitHeaders,
  type RunListQuery,
} from '../schemas/job.js';

const badId = errorBody.describe('The id is not a UUID');
const unknownJob = errorBody.describe('No job has this id');

/** The filters and sort of GET /jobs's query (and GET /jobs.csv's) as the jobs service takes them. */
export function runFilters(query: Omit<RunListQuery, 'limit' | 'cursor'>): Omit<RunListRequest, 'cursor' | 'limit'> {
  const { status, dataset, name, tag, owner, sort, order } = query;
  return {
    ...(owner ? { owner } : {}),
    ...(status ? { statuses: status } : {}),
    ...(dataset ? { dataset } : {}),
    ...(name ? { nameContains: name } : {}),
    ...(tag ? { tag } : {}),
    sort,
    order,
  };
}

function listRoute(app: Parameters<FastifyPluginCallbackZod>[0], jobs: JobsService): void {
  app.get(
    '/jobs',
    keyedRoute(
      'read',
      {
        operationId: 'listJobs',
        tags: ['jobs'],
        summary: 'List past runs',
        description:
          "Newest first by default; filter by status, dataset, name and tag (and, for admins, owner); sort by accuracy or duration. Runs without a value yet sort as lowest. Only the key's owner's runs, or every owner's for an admin.",
        querystring: runListQuery,
        response: { 200: runList, 400: errorBody.describe('A bad query parameter') },
      },
      {
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await jobs.list(request.viewer, {
        ...runFilters(request.query),
        ...(cursor ? { cursor } : {}),
        limit,
      });
      return { runs: page.runs.map(runSummary), nextCursor: page.nextCursor };
    },
  );
}

function readRoutes(app: Parameters<FastifyPluginCallbackZod>[0], jobs: JobsService): void {
  listRoute(app, jobs);

  app.get(
    '/jobs/:id',
    keyedRoute(
      'read',
      {
        operationId: 'getJob',
        tags: ['jobs'],
        summary: 'Get a job',
        description: 'Status, spec, progress, per-epoch metrics, backend, timestamps and error.',
        params: jobIdParams,
        response: { 200: jobSchema, 400: badId, 404: unknownJob },
      },
      {
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request) => jobView(await jobs.visibleJob(request.viewer, request.params.id)),
  );

  app.get(
    '/jobs/:id/history',
    keyedRoute('read', {
      operationId: 'getJobHistory',
      tags: ['history'],
      summary: "Get a job's loss history",
      description:
        'Every recorded step, streamed from Postgres a page at a time; `points` downsamples with Largest-Triangle-Three-Buckets, keeping the first and last step.',
      params: jobIdParams,
      querystring: historyQuery,
      response: { 200: historySchema, 400: errorBody, 404: unknownJob },
    }),
    async (request, reply) => {
      // Unknown jobs and an unreachable database fail here, before the body starts.
      const history = await jobs.history(request.viewer, request.params.id, request.query.points);
      // Fastify sends a stream as it is, past the serializer: the schema documents this body, and
      // test/api/openapi.test.ts checks an answer against it.
      const body = Readable.from(historyBody(history)) as unknown as HistoryBody;
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );
}

function writeRoutes(app: Parameters<FastifyPluginCallbackZod>[0], jobs: JobsService): void {
  app.post(
    '/jobs',
    keyedRoute(
      'write',
      {
        operationId: 'submitJob',
        tags: ['jobs'],
        summary: 'Submit a training job',
        description:
          'Stored before it is queued. With an Idempotency-Key, a repeat with the same body returns the same job (header Idempotent-Replayed: true).',
        headers: submitHeaders,
        body: jobSpecBody,
        response: {
          201: jobSchema.describe('The job, queued; Location names it'),
          400: errorBody.describe('An invalid spec or Idempotency-Key: `issues` names every bad field'),
          413: errorBody.describe('The body is over the size limit'),
          415: errorBody.describe('The body is not JSON'),
          422: errorBody.describe('The Idempotency-Key was used with a different body'),
        },
      },
      {
        // The jobs service validates the spec, against limits of this server's configuration, and
        // after an idempotent replay is ruled out: the schema above documents the body and types it.
        validatorCompiler: bodyCheckedByService,
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request, reply) => {
      const { job, replayed } = await jobs.submit(request.viewer, request.body, request.headers['idempotency-key']);
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.status(201).header('location', `/jobs/${job.id}`).send(jobView(job));
    },
  );

  app.post(
    '/jobs/:id/cancel',
    keyedRoute(
      'write',
      {
        operationId: 'cancelJob',
        tags: ['jobs'],
        summary: 'Cancel a job',
        description: '200 for a queued job (it never starts); 202 for a running one, which stops between batches.',
        params: jobIdParams,
        response: {
          200: jobSchema.describe('Cancelled'),
          202: jobSchema.describe('Cancel requested; the worker stops it'),
          400: badId,
          404: unknownJob,
          409: errorBody.describe('The job has already ended'),
        },
      },
      {
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request, reply) => {
      const { job, stopping } = await jobs.cancel(request.viewer, request.params.id);
      // 202 when a running job's worker was asked to stop (decided by the request, not by how fast
      // the worker was); 200 when a queued job was cancelled at once.
      return reply.status(stopping ? 202 : 200).send(jobView(job));
    },
  );
}

function deleteRoute(app: Parameters<FastifyPluginCallbackZod>[0], jobs: JobsService): void {
  app.delete(
    '/jobs/:id',
    keyedRoute('write', {
      operationId: 'deleteJob',
      tags: ['jobs'],
      summary: 'Delete an ended job',
      description:
        "Removes a completed, failed or cancelled job with its history, metrics, checkpoint and models. A queued or running job must be cancelled first. A member deletes its own owner's jobs, an admin anyone's.",
      params: jobIdParams,
      response: {
        204: deleted,
        400: badId,
        404: unknownJob,
        409: errorBody.describe('The job is queued or running: cancel it first (code job_active)'),
      },
    }),
    answerDeleted((request: { viewer: Viewer; params: { id: string } }) =>
      jobs.remove(request.viewer, request.params.id),
    ),
  );
}

export const jobRoutes: FastifyPluginCallbackZod<{ jobs: JobsService }> = (app, { jobs }, done) => {
  readRoutes(app, jobs);
  writeRoutes(app, jobs);
  deleteRoute(app, jobs);
  done();
};
