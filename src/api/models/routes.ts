import { keyedRoute } from '../http/keyed-route.js';
import { z } from 'zod';
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { validatorCompiler, type FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { JobsService } from '../jobs/jobs-service.js';
import type { ModelsService } from './models-service.js';
import { matchesEtag } from './models-service.js';
import { errorBody, jobIdParams } from '../http/common-schemas.js';
import {
  evaluation,
  evaluationQuery,
  modelJson,
  modelQuery,
  predictBody,
  predictBodyShape,
  predictions,
  weightsQuery,
} from './schemas.js';

type App = Parameters<FastifyPluginCallbackZod>[0];

/** What these routes need; each starts with `jobs.visibleJob`, so another owner's job is a 404 like a missing one. */
interface Deps {
  jobs: Pick<JobsService, 'visibleJob'>;
  models: ModelsService;
}

const badRequest = errorBody.describe('A malformed id, or a bad `version`');
const unknownJob = errorBody.describe("No job has this id (another owner's is as unknown)");
const noModel = errorBody.describe('The job has no model of this version yet (code no_model)');
const notModified = z.null().describe('Not modified: the If-None-Match ETag is current');
const redirected = z.null().describe('With ARTIFACT_REDIRECTS=true: the weights are at the presigned URL in Location');
const storeDown = errorBody.describe(
  'The artifact store cannot be reached (code artifact_store_unavailable; `store` names it)',
);
const ifNoneMatch = z.object({
  'if-none-match': z.string().optional().describe('An ETag of an earlier answer: 304 while it is current'),
});

function downloadRoutes(app: App, { jobs, models }: Deps): void {
  app.get(
    '/jobs/:id/model',
    keyedRoute('read', {
      operationId: 'getModel',
      tags: ['models'],
      summary: "Download a job's trained model (model.json)",
      description:
        "TensorFlow.js layers format: `tf.loadLayersModel('<server>/jobs/<id>/model')` loads it with its weights. ETag is the hash of this body; `userDefinedMetadata.trainer` says how to preprocess raw input.",
      params: jobIdParams,
      querystring: modelQuery,
      headers: ifNoneMatch,
      response: { 200: modelJson, 304: notModified, 400: badRequest, 404: unknownJob, 409: noModel, 503: storeDown },
    }),
    async (request, reply) => {
      await jobs.visibleJob(request.viewer, request.params.id);
      const { body, etag } = await models.modelJson(request.params.id, request.query.version);
      void reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send(null);
      // The bytes as hashed, sent past the serializer (fastify sends a Buffer as it is), so the ETag
      // names exactly what is sent; the schema documents them.
      const sent = body as unknown as z.output<typeof modelJson>;
      return reply.type('application/json; charset=utf-8').header('content-length', body.length).send(sent);
    },
  );

  app.get(
    '/jobs/:id/model/weights.bin',
    keyedRoute('read', {
      operationId: 'getModelWeights',
      tags: ['models'],
      summary: "Download a job's trained weights (weights.bin)",
      description:
        "The weights model.json's manifest names: float32 little-endian, streamed from the artifact store, or (ARTIFACT_REDIRECTS=true, weights in object storage) a 302 to a short-lived presigned URL. ETag is their SHA-256.",
      params: jobIdParams,
      querystring: weightsQuery,
      headers: ifNoneMatch,
      response: {
        200: {
          description: 'The weights',
          content: { 'application/octet-stream': { schema: z.string().describe('Binary weights') } },
        },
        302: redirected,
        304: notModified,
        400: badRequest,
        404: unknownJob,
        409: noModel,
        503: storeDown,
      },
    }),
    async (request, reply) => {
      await jobs.visibleJob(request.viewer, request.params.id);
      const weights = await models.weights(request.params.id, request.query.version);
      void reply.header('etag', weights.etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], weights.etag)) return reply.status(304).send(null);
      // ARTIFACT_REDIRECTS: the client fetches the bytes from object storage itself.
      const url = await weights.redirect();
      if (url !== null) return reply.redirect(url, 302);
      // A stream is sent as it is, chunk by chunk from the store: the weights are never whole in memory.
      const stream = (await weights.open()) as unknown as string;
      return reply.type('application/octet-stream').header('content-length', weights.bytes).send(stream);
    },
  );
}

function predictRoute(app: App, { jobs, models }: Deps, bodyLimit: number): void {
  app.post(
    '/jobs/:id/predict',
    keyedRoute(
      'read',
      {
        operationId: 'predict',
        tags: ['models'],
        summary: "Predict with a job's trained model",
        description: `Up to 1,000 raw inputs or base64 PNG/JPEG images; answers the topK classes of each, in input order. Images are decoded and predictions run on the inference threads, never the event loop or libuv's thread pool. Bodies up to ${bodyLimit} bytes.`,
        params: jobIdParams,
        body: predictBody,
        response: {
          200: predictions,
          400: errorBody.describe('A bad input or image: `issues` names each by index (`inputs[3][17]`, `images[2]`)'),
          404: unknownJob,
          409: noModel,
          413: errorBody.describe(
            'More than 1,000 inputs, images that decode to more bytes than a request may (code images_too_large, `issues` names the image and the limit), or a body over the size limit',
          ),
          415: errorBody.describe('The body is not JSON'),
        },
      },
      {
        bodyLimit,
        // Inputs and images are checked by the predictor in one pass (up to 784,000 values); zod
        // checks the rest. fastify types `route.schema` as the whole route schema; at run time it is the part.
        validatorCompiler: (route: FastifyRouteSchemaDef<unknown>) =>
          validatorCompiler({
            ...(route as unknown as Parameters<typeof validatorCompiler>[0]),
            ...(route.httpPart === 'body' ? { schema: predictBodyShape } : {}),
          }),
      },
    ),
    async (request) => {
      await jobs.visibleJob(request.viewer, request.params.id);
      const { version, ...predictRequest } = request.body;
      return models.predict(request.params.id, version, predictRequest);
    },
  );
}

function evaluationRoute(app: App, { jobs, models }: Deps): void {
  app.get(
    '/jobs/:id/evaluation',
    keyedRoute('read', {
      operationId: 'getEvaluation',
      tags: ['models'],
      summary: "Where a job's model fails",
      description:
        'Confusion matrix and per-class precision, recall, F1, support and accuracy of an epoch (the last one by default); for the final epoch also the most confident mistakes.',
      params: jobIdParams,
      querystring: evaluationQuery,
      response: {
        200: evaluation,
        400: errorBody.describe('A malformed id or epoch'),
        404: unknownJob,
        409: errorBody.describe('No evaluation recorded yet (for this epoch); code no_evaluation'),
      },
    }),
    async (request) => {
      await jobs.visibleJob(request.viewer, request.params.id);
      const found = await models.evaluation(request.params.id, request.query.epoch);
      return { jobId: request.params.id.toLowerCase(), epoch: found.epoch, ...found.evaluation };
    },
  );
}

export const modelRoutes: FastifyPluginCallbackZod<Deps & { predictBodyLimit: number }> = (
  app,
  { jobs, models, predictBodyLimit },
  done,
) => {
  downloadRoutes(app, { jobs, models });
  predictRoute(app, { jobs, models }, predictBodyLimit);
  evaluationRoute(app, { jobs, models });
  done();
};
