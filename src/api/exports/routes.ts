import { Readable } from 'node:stream';
import { z } from 'zod';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { epochsCsv } from './epochs-csv.js';
import { historyCsv } from './history-csv.js';
import { historyParquet } from './history-parquet.js';
import { runsCsv } from './runs-csv.js';
import type { JobsService } from '../jobs/jobs-service.js';
import { runSummary } from '../jobs/job-view.js';
import { errorBody, jobIdParams } from '../http/common-schemas.js';
import { runListQuery } from '../jobs/schemas.js';
import { keyedRoute } from '../http/keyed-route.js';
import { runFilters } from '../jobs/routes.js';

type App = Parameters<FastifyPluginCallbackZod>[0];

const badId = errorBody.describe('The id is not a UUID');
const unknownJob = errorBody.describe("No job has this id (another owner's is as unknown)");
const csv = (description: string) => ({
  description,
  content: { 'text/csv': { schema: z.string().describe('CSV with a header line (RFC 4180)') } },
});

/** GET /jobs.csv takes GET /jobs's filters and sort; it has no pages. */
export const runExportQuery = runListQuery.omit({ limit: true, cursor: true });

/** What a download needs of fastify's reply. */
interface DownloadReply<Sent> {
  type(contentType: string): { header(name: string, value: string): { send(payload: string): Sent } };
}

/** Answers with `body` as a file of `contentType` named `filename` by the server (ids and fixed words only). */
const download = <Sent>(reply: DownloadReply<Sent>, contentType: string, filename: string, body: string) =>
  reply.type(contentType).header('content-disposition', `attachment; filename="${filename}"`).send(body);

const csvType = 'text/csv; charset=utf-8';

/**
 * A body the reply sends as it is produced (Fastify passes a stream past the serializer), asking
 * for the next page only once the last is on its way: a byte stream with a small high-water mark,
 * where Readable.from's default object mode would read 16 pages ahead of a slow client.
 */
const streamed = (chunks: AsyncIterable<string | Buffer>) =>
  Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 }) as unknown as string;

function historyExports(app: App, jobs: JobsService): void {
  app.get(
    '/jobs/:id/history.csv',
    keyedRoute('read', {
      operationId: 'exportJobHistoryCsv',
      tags: ['history'],
      summary: "Export a job's loss history as CSV",
      description:
        'Every recorded step as `step,epoch,loss`, streamed from Postgres a page at a time; the same steps as GET /jobs/:id/history. A loss that is not finite is an empty cell.',
      params: jobIdParams,
      produces: ['text/csv'],
      response: { 200: csv('The history'), 400: badId, 404: unknownJob },
    }),
    async (request, reply) => {
      // Unknown jobs and an unreachable database fail here, before the body starts.
      const { jobId, runs } = await jobs.historyRuns(request.viewer, request.params.id);
      return download(reply, csvType, `job-${jobId}-history.csv`, streamed(historyCsv(runs)));
    },
  );

  app.get(
    '/jobs/:id/history.parquet',
    keyedRoute('read', {
      operationId: 'exportJobHistoryParquet',
      tags: ['history'],
      summary: "Export a job's loss history as Parquet",
      description:
        'Every recorded step in columns `step` (INT32), `epoch` (INT32) and `loss` (DOUBLE, null when not finite), SNAPPY-compressed, a row group per page of steps, streamed as each is written.',
      params: jobIdParams,
      produces: ['application/vnd.apache.parquet'],
      response: {
        200: {
          description: 'The history',
          content: { 'application/vnd.apache.parquet': { schema: z.string().describe('A Parquet file') } },
        },
        400: badId,
        404: unknownJob,
      },
    }),
    async (request, reply) => {
      const { jobId, runs } = await jobs.historyRuns(request.viewer, request.params.id);
      const parquet = streamed(historyParquet(runs));
      return download(reply, 'application/vnd.apache.parquet', `job-${jobId}-history.parquet`, parquet);
    },
  );
}

function listingExports(app: App, jobs: JobsService): void {
  app.get(
    '/jobs/:id/epochs.csv',
    keyedRoute('read', {
      operationId: 'exportJobEpochsCsv',
      tags: ['history'],
      summary: "Export a job's epoch metrics as CSV",
      description:
        'A line an epoch: test accuracy and loss, mean training loss, validation accuracy and loss (empty without a validation split), duration and samples per second.',
      params: jobIdParams,
      produces: ['text/csv'],
      response: { 200: csv('The epochs'), 400: badId, 404: unknownJob },
    }),
    async (request, reply) => {
      const job = await jobs.visibleJob(request.viewer, request.params.id);
      return download(reply, csvType, `job-${job.id}-epochs.csv`, epochsCsv(job.epochs));
    },
  );

  app.get(
    '/jobs.csv',
    keyedRoute('read', {
      operationId: 'exportRunsCsv',
      tags: ['jobs'],
      summary: 'Export the run listing as CSV',
      description:
        "Every run GET /jobs would list with the same filters and sort, all pages, a line each (tags joined by `;`). Only the key's owner's runs, or every owner's for an admin.",
      querystring: runExportQuery,
      produces: ['text/csv'],
      response: { 200: csv('The runs'), 400: errorBody.describe('A bad query parameter') },
    }),
    async (request, reply) => {
      const pages = jobs.listAll(request.viewer, runFilters(request.query));
      // The first page is read before the answer starts, so an outage is an error answer, not a cut file.
      const first = await pages.next();
      async function* summaries() {
        if (!first.done) yield first.value.map(runSummary);
        for await (const page of pages) yield page.map(runSummary);
      }
      return download(reply, csvType, 'runs.csv', streamed(runsCsv(summaries())));
    },
  );
}

/** CSV and Parquet exports of histories, epochs and the run listing, with the JSON routes' access rules. */
export const exportRoutes: FastifyPluginCallbackZod<{ jobs: JobsService }> = (app, { jobs }, done) => {
  historyExports(app, jobs);
  listingExports(app, jobs);
  done();
};
