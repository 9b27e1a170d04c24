import { answerDeleted, keyedRoute } from '../http/keyed-route.js';
import type { Viewer } from '../../domain/access.js';
import { bodyCheckedByService, typedSuccessSerializer } from '../http/validation.js';
import { Readable } from 'node:stream';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { JobsService, RunListRequest } from './jobs-service.js';
import { jobView, runSummary } from './job-view.js';
import { historyBody } from '../history/history-body.js';
import { deleted, errorBody, jobIdParams } from '../http/common-schemas.js';
import { historyBody as historySchema, historyQuery, type HistoryBody } from '../history/schemas.js';
import {
  jobEditBody,
  jobSpecBody,
  jobView as jobSchema,
  runList,
  runListQuery,
  submitHeaders,
  type RunListQuery,
} from './schemas.js';
import { checkpointList, forkBody } from './fork-schemas.js';

const badId = errorBody.describe('The id is not a UUID');
const unknownJob = errorBody.describe('No job has this id');

/** The filters and sort of GET /jobs's query (and GET /jobs.csv's) as the jobs service takes them. */
export function runFilters(query: Omit<RunListQuery, 'limit' | 'cursor'>): Omit<RunListRequest, 'cursor' | 'limit'> {
  const { status, dataset, name, tag, pinned, notes, owner, sort, order } = query;
  return {
    ...(owner ? { owner } : {}),
    ...(status ? { statuses: status } : {}),
    ...(dataset ? { dataset } : {}),
    ...(name ? { nameContains: name } : {}),
    ...(tag ? { tag } : {}),
    ...(pinned === undefined ? {} : { pinned }),
    ...(notes ? { notesContains: notes } : {}),
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
        description:
          'Status, spec, progress, per-epoch metrics, backend, timestamps and error; the run it was forked from and the runs forked from it.',
        params: jobIdParams,
        response: { 200: jobSchema, 400: badId, 404: unknownJob },
      },
      {
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request) => {
      const { job, lineage } = await jobs.getWithLineage(request.viewer, request.params.id);
      return jobView(job, lineage);
    },
  );

  app.get(
    '/jobs/:id/history',
    keyedRoute('read', {
      operationId: 'getJobHistory',
      tags: ['history'],
      summary: "Get a job's loss history",
      description:
        "Every recorded step, streamed from Postgres a page at a time; `points` downsamples with Largest-Triangle-Three-Buckets, keeping the first and last step. `lineage=true` puts a forked run's ancestors' steps up to each fork point before its own.",
      params: jobIdParams,
      querystring: historyQuery,
      response: { 200: historySchema, 400: errorBody, 404: unknownJob },
    }),
    async (request, reply) => {
      // Unknown jobs and an unreachable database fail here, before the body starts.
      const { points, lineage } = request.query;
      const history = await jobs.history(request.viewer, request.params.id, points, lineage);
      // Fastify sends a stream as it is, past the serializer: the schema documents this body, and
      // test/api/http/openapi.test.ts checks an answer against it.
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

/** POST /jobs/:id/fork. */
function forkRoute(app: Parameters<FastifyPluginCallbackZod>[0], jobs: JobsService): void {
  app.post(
    '/jobs/:id/fork',
    keyedRoute(
      'write',
      {
        operationId: 'forkJob',
        tags: ['jobs'],
        summary: 'Fork or continue a run from a kept checkpoint',
        description:
          "A new job that starts from the checkpoint of a kept epoch (the latest when `fromEpoch` is absent; a running job's last finished one) with its weights, and its optimizer state and data order unless `overrides` changes the optimizer or batch size (`parent.resumed` says which). Unchanged, it repeats the parent's steps after the fork point exactly; with more `epochs` from the last epoch it continues the run. Counts against quotas like any submission and takes an Idempotency-Key.",
        params: jobIdParams,
        headers: submitHeaders,
        body: forkBody,
        response: {
          201: jobSchema.describe('The new job, queued, with `parent`; Location names it'),
          400: errorBody.describe('A bad field (an override a fork may not change, a bad value): `issues` names it'),
          404: unknownJob,
          409: errorBody.describe('The epoch is not kept (any more): the message and `issues` name the kept epochs'),
          422: errorBody.describe('The Idempotency-Key was used with a different body'),
        },
      },
      {
        validatorCompiler: bodyCheckedByService,
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request, reply) => {
      const { job, replayed, lineage } = await jobs.fork(
        request.viewer,
        request.params.id,
        request.body,
        request.headers['idempotency-key'],
      );
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.status(201).header('location', `/jobs/${job.id}`).send(jobView(job, lineage));
    },
  );
}

/** Kept checkpoints and forks from them. */
function forkRoutes(app: Parameters<FastifyPluginCallbackZod>[0], jobs: JobsService): void {
  app.get(
    '/jobs/:id/checkpoints',
    keyedRoute(
      'read',
      {
        operationId: 'listJobCheckpoints',
        tags: ['jobs'],
        summary: "List a job's kept checkpoints",
        description:
          'The epochs a run can be forked or continued from: one per finished epoch within the retention (CHECKPOINT_KEEP_LAST epochs and the best), kept after the run ends.',
        params: jobIdParams,
        response: { 200: checkpointList, 400: badId, 404: unknownJob },
      },
      {
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request) => {
      const { job, checkpoints } = await jobs.checkpoints(request.viewer, request.params.id);
      return {
        jobId: job.id,
        checkpoints: checkpoints.map((checkpoint) => ({
          ...checkpoint,
          createdAt: checkpoint.createdAt.toISOString(),
        })),
      };
    },
  );
  forkRoute(app, jobs);
}

/** PATCH /jobs/:id. */
function editRoute(app: Parameters<FastifyPluginCallbackZod>[0], jobs: JobsService): void {
  app.patch(
    '/jobs/:id',
    keyedRoute(
      'write',
      {
        operationId: 'editJob',
        tags: ['jobs'],
        summary: 'Edit what a run says about itself',
        description:
          "Sets its `name`, `tags`, `notes` (markdown, up to 10,000 characters) and `pinned`, at any status, and records `updatedAt`. A member edits its own owner's runs, an admin anyone's; a viewer none.",
        params: jobIdParams,
        body: jobEditBody,
        response: {
          200: jobSchema.describe('The job as edited'),
          400: errorBody.describe('A bad field: `issues` names it'),
          404: unknownJob,
        },
      },
      {
        serializerCompiler: typedSuccessSerializer,
      },
    ),
    async (request) => {
      const { name, tags, notes, pinned } = request.body;
      const edit = {
        ...(name === undefined ? {} : { name }),
        ...(tags === undefined ? {} : { tags }),
        ...(notes === undefined ? {} : { notes }),
        ...(pinned === undefined ? {} : { pinned }),
      };
      const { job, lineage } = await jobs.edit(request.viewer, request.params.id, edit);
      return jobView(job, lineage);
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
  forkRoutes(app, jobs);
  editRoute(app, jobs);
  deleteRoute(app, jobs);
  done();
};
