import { z } from 'zod';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { ApiKeyRecord } from './keys-service.js';
import type { KeysService } from './keys-service.js';
import { errorBody } from '../http/common-schemas.js';
import { keyedRoute } from '../http/keyed-route.js';
import { createdKey, keyIdParams, keyList, newKeyBody, whoami } from './schemas.js';

function keyView(record: ApiKeyRecord) {
  return {
    id: record.id,
    owner: record.owner,
    role: record.role,
    name: record.name,
    created: record.createdAt.toISOString(),
    lastUsed: record.lastUsedAt?.toISOString() ?? null,
  };
}

/** POST, GET and DELETE /keys: managing API keys, for admins. */
export const keyRoutes: FastifyPluginCallbackZod<{ keys: KeysService }> = (app, { keys }, done) => {
  app.post(
    '/keys',
    keyedRoute('admin', {
      operationId: 'createApiKey',
      tags: ['keys'],
      summary: 'Create an API key',
      description: 'The answer carries the key itself, once; only its hash is stored.',
      body: newKeyBody,
      response: { 201: createdKey, 400: errorBody.describe('A bad owner, role or name') },
    }),
    async (request, reply) => {
      const { key, record } = await keys.create(request.body);
      request.log.info({ keyId: record.id, owner: record.owner, role: record.role }, 'api key created');
      return reply.status(201).send({ ...keyView(record), key });
    },
  );

  app.get(
    '/keys',
    keyedRoute('admin', {
      operationId: 'listApiKeys',
      tags: ['keys'],
      summary: 'List API keys',
      description: 'Keys that are not revoked, without their secrets.',
      response: { 200: keyList },
    }),
    async () => ({ keys: (await keys.list()).map(keyView) }),
  );

  app.delete(
    '/keys/:id',
    keyedRoute('admin', {
      operationId: 'revokeApiKey',
      tags: ['keys'],
      summary: 'Revoke an API key',
      description: 'Takes effect at once on every API process: keys are checked against Postgres on each request.',
      params: keyIdParams,
      response: {
        204: z.null().describe('Revoked'),
        404: errorBody.describe('No live key has this id'),
      },
    }),
    async (request, reply) => {
      await keys.revoke(request.params.id);
      request.log.info({ keyId: request.params.id }, 'api key revoked');
      return reply.status(204).send(null);
    },
  );
  done();
};

/** GET /whoami: the owner and role a request acts as, so a client (the dashboard) can show them. */
export const whoamiRoutes: FastifyPluginCallbackZod<{ auth: 'off' | 'required' }> = (app, { auth }, done) => {
  app.get(
    '/whoami',
    keyedRoute('read', {
      operationId: 'whoami',
      tags: ['keys'],
      summary: 'Who this request acts as',
      description: 'The owner and role of the key sent; with AUTH=off, the local admin.',
      response: { 200: whoami },
    }),
    (request) => ({ owner: request.viewer.owner, role: request.viewer.role, auth }),
  );
  done();
};
