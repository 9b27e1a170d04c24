import { z } from 'zod';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Viewer } from '../../domain/access.js';
import { answerDeleted, keyedRoute } from '../http/keyed-route.js';
import { errorBody } from '../http/common-schemas.js';
import {
  createdWebhook,
  deliveryList,
  deliveryParams,
  deliveryQuery,
  newWebhookBody,
  webhookIdParams,
  webhookList,
  webhookView,
} from './schemas.js';
import type { WebhooksService } from './webhooks-service.js';

const unknownWebhook = errorBody.describe("No such webhook (or it is another owner's)");
const badId = errorBody.describe('The id is not a UUID');

type App = Parameters<FastifyPluginCallbackZod>[0];

const createAnswers = {
  201: createdWebhook,
  400: errorBody.describe('A bad url, an unknown event or a bad description (the issues name the field)'),
  429: errorBody.describe(
    'A rate limit is exceeded, or the owner has WEBHOOK_MAX_PER_OWNER webhooks already (code quota_exceeded)',
  ),
  503: errorBody.describe(
    'Postgres or Redis is unreachable, or webhooks are off (code webhooks_not_configured: no WEBHOOK_SECRET_KEY)',
  ),
};

function manageRoutes(app: App, webhooks: WebhooksService): void {
  app.post(
    '/webhooks',
    keyedRoute('write', {
      operationId: 'createWebhook',
      tags: ['webhooks'],
      summary: 'Create a webhook',
      description:
        "Events of the key owner's jobs and sweeps are POSTed to `url`, signed with the secret this answer carries once. URLs that resolve to loopback, private, link-local or metadata addresses are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.",
      body: newWebhookBody,
      response: createAnswers,
    }),
    async (request, reply) => reply.status(201).send(await webhooks.create(request.viewer, request.body)),
  );

  app.get(
    '/webhooks',
    keyedRoute('read', {
      operationId: 'listWebhooks',
      tags: ['webhooks'],
      summary: 'List webhooks',
      description: "The key owner's webhooks (an admin's: everyone's), newest first, without their secrets.",
      response: { 200: webhookList },
    }),
    async (request) => ({ webhooks: await webhooks.list(request.viewer) }),
  );

  app.get(
    '/webhooks/:id',
    keyedRoute('read', {
      operationId: 'getWebhook',
      tags: ['webhooks'],
      summary: 'Read a webhook',
      description: 'Its events, whether it is enabled and, if it was disabled, why. Never its secret.',
      params: webhookIdParams,
      response: { 200: webhookView, 400: badId, 404: unknownWebhook },
    }),
    (request) => webhooks.get(request.viewer, request.params.id),
  );

  app.delete(
    '/webhooks/:id',
    keyedRoute('write', {
      operationId: 'deleteWebhook',
      tags: ['webhooks'],
      summary: 'Delete a webhook',
      description: 'Removes the webhook with its deliveries; nothing more is sent to it.',
      params: webhookIdParams,
      response: { 204: z.null().describe('Deleted'), 400: badId, 404: unknownWebhook },
    }),
    answerDeleted((request: { viewer: Viewer; params: { id: string } }) =>
      webhooks.remove(request.viewer, request.params.id),
    ),
  );
}

function deliveryRoutes(app: App, webhooks: WebhooksService): void {
  app.get(
    '/webhooks/:id/deliveries',
    keyedRoute('read', {
      operationId: 'listWebhookDeliveries',
      tags: ['webhooks'],
      summary: "A webhook's deliveries",
      description:
        'Newest first: each event sent to the webhook, whether it succeeded, and its attempts with the status code, duration and the start of the answer; a pending one says when it is tried next.',
      params: webhookIdParams,
      querystring: deliveryQuery,
      response: { 200: deliveryList, 400: badId, 404: unknownWebhook },
    }),
    async (request) => ({
      deliveries: await webhooks.deliveries(request.viewer, request.params.id, request.query.limit ?? 50),
    }),
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    keyedRoute('write', {
      operationId: 'redeliverWebhookDelivery',
      tags: ['webhooks'],
      summary: 'Send a delivery again',
      description:
        'Queues the delivery again with the same event id and body, retried as a new one would be; a disabled webhook is enabled again.',
      params: deliveryParams,
      response: {
        202: z.object({ id: z.uuid(), status: z.literal('pending') }).describe('Queued'),
        400: badId,
        404: errorBody.describe("No such webhook or delivery (or the webhook is another owner's)"),
      },
    }),
    async (request, reply) => {
      await webhooks.redeliver(request.viewer, request.params.id, request.params.deliveryId);
      return reply.status(202).send({ id: request.params.deliveryId.toLowerCase(), status: 'pending' as const });
    },
  );
}

/** POST, GET and DELETE /webhooks, and a webhook's deliveries: owner-scoped like jobs. */
export const webhookRoutes: FastifyPluginCallbackZod<{ webhooks: WebhooksService }> = (app, { webhooks }, done) => {
  manageRoutes(app, webhooks);
  deliveryRoutes(app, webhooks);
  done();
};
