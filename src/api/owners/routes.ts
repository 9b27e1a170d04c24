import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { errorBody } from '../http/common-schemas.js';
import { keyedRoute } from '../http/keyed-route.js';
import type { OwnerSettingsService } from './owner-settings-service.js';
import { ownerParams, ownerSettingsBody, ownerSettingsView } from './schemas.js';

const badOwner = errorBody.describe('The owner name is not one a key could have (the issues name `owner`)');

/** GET and PUT /owners/:owner/settings: an owner's default retention and time limit. */
export const ownerRoutes: FastifyPluginCallbackZod<{ ownerSettings: OwnerSettingsService }> = (
  app,
  { ownerSettings },
  done,
) => {
  app.get(
    '/owners/:owner/settings',
    keyedRoute('read', {
      operationId: 'getOwnerSettings',
      tags: ['retention'],
      summary: "Read an owner's defaults",
      description:
        "The owner's default retention of finished runs and time limit of new runs (null: none set). A key reads its own owner's; an admin any owner's.",
      params: ownerParams,
      response: {
        200: ownerSettingsView,
        400: badOwner,
        404: errorBody.describe("Another owner's (for a key that is not an admin's)"),
      },
    }),
    (request) => ownerSettings.get(request.viewer, request.params.owner),
  );

  app.put(
    '/owners/:owner/settings',
    keyedRoute('admin', {
      operationId: 'putOwnerSettings',
      tags: ['retention'],
      summary: "Set an owner's defaults",
      description:
        "Admins only. Replaces both defaults. The retention reaches the owner's finished runs that take theirs from the owner or the server at once; the time limit applies to runs submitted from now on.",
      params: ownerParams,
      body: ownerSettingsBody,
      response: {
        200: ownerSettingsView,
        400: errorBody.describe('A bad owner name or a bad field (the issues name it)'),
      },
    }),
    (request) => ownerSettings.replace(request.params.owner, request.body),
  );
  done();
};
