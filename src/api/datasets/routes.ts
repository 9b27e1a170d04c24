import { answerDeleted, keyedRoute } from '../http/keyed-route.js';
import type { Viewer } from '../../domain/access.js';
import { bodyCheckedByService } from '../http/validation.js';
import multipart from '@fastify/multipart';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { datasetView, type DatasetsService } from './datasets-service.js';
import { deleted, errorBody } from '../http/common-schemas.js';
import {
  datasetList,
  datasetListQuery,
  datasetParams,
  datasetUploadForm,
  datasetView as datasetSchema,
} from './dataset-schemas.js';

const unknownDataset = errorBody.describe("No dataset has this name (another owner's is as unknown)");

type App = Parameters<FastifyPluginCallbackZod>[0];

function readRoutes(app: App, datasets: DatasetsService): void {
  app.get(
    '/datasets',
    keyedRoute('read', {
      operationId: 'listDatasets',
      tags: ['datasets'],
      summary: 'List datasets',
      description:
        "The bundled ones (MNIST) and the uploaded ones the key may see (its owner's; an admin's: every owner's), with shape, classes and split sizes.",
      querystring: datasetListQuery,
      response: { 200: datasetList, 400: errorBody.describe('A bad query parameter') },
    }),
    async (request) => ({ datasets: await datasets.list(request.viewer, request.query.owner) }),
  );

  app.get(
    '/datasets/:name',
    keyedRoute('read', {
      operationId: 'getDataset',
      tags: ['datasets'],
      summary: 'Get a dataset',
      description:
        'Shape, classes with names and counts per split, split sizes, feature statistics, size and creation time.',
      params: datasetParams,
      response: {
        200: datasetSchema,
        400: errorBody.describe('Not a dataset name'),
        404: unknownDataset,
      },
    }),
    async (request) => datasets.get(request.viewer, request.params.name),
  );
}

function writeRoutes(app: App, datasets: DatasetsService): void {
  app.post(
    '/datasets',
    keyedRoute(
      'write',
      {
        operationId: 'uploadDataset',
        tags: ['datasets'],
        summary: 'Upload a dataset',
        description:
          'multipart/form-data, streamed: IDX files (trainImages, trainLabels, testImages, testLabels; plain or gzip, told apart by content) or CSV files (train, test). Everything is checked before the dataset exists; a failed upload leaves nothing behind.',
        consumes: ['multipart/form-data'],
        body: datasetUploadForm,
        response: {
          201: datasetSchema.describe('The dataset; Location names it'),
          400: errorBody.describe(
            'A bad field or file: `issues` names each, with the line and column or byte of the problem, or more examples than allowed',
          ),
          409: errorBody.describe('A dataset of this name exists'),
          413: errorBody.describe(
            "Over the upload size limit, the storage limit of all datasets, or the owner's (code dataset_quota_exceeded)",
          ),
        },
      },
      {
        // The service reads the multipart stream; the schema above documents it for the OpenAPI document.
        validatorCompiler: bodyCheckedByService,
      },
    ),
    async (request, reply) => {
      const stored = await datasets.upload(request.viewer, request);
      return reply.status(201).header('location', `/datasets/${stored.info.name}`).send(datasetView(stored));
    },
  );

  app.delete(
    '/datasets/:name',
    keyedRoute('write', {
      operationId: 'deleteDataset',
      tags: ['datasets'],
      summary: 'Delete a dataset',
      description: 'Finished jobs that used it keep their history, metrics and models.',
      params: datasetParams,
      response: {
        204: deleted,
        400: errorBody.describe('Not a dataset name'),
        403: errorBody.describe('A bundled dataset, which cannot be deleted, or a viewer key'),
        404: unknownDataset,
        409: errorBody.describe('Queued or running jobs use it; the message names them'),
      },
    }),
    answerDeleted((request: { viewer: Viewer; params: { name: string } }) =>
      datasets.delete(request.viewer, request.params.name),
    ),
  );
}

/** GET, POST and DELETE /datasets: uploaded datasets (multipart, streamed to disk) and the bundled ones. */
export const datasetRoutes: FastifyPluginCallbackZod<{ datasets: DatasetsService }> = (app, { datasets }, done) => {
  // Only these routes read multipart bodies; the service streams them itself, under its own limits.
  void app.register(multipart);
  readRoutes(app, datasets);
  writeRoutes(app, datasets);
  done();
};
