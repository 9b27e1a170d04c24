import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { localViewer, roleAllows, type Access, type Role, type Viewer } from '../../domain/access.js';
import { Forbidden, RateLimited, Unauthenticated } from '../../domain/errors.js';
import type { Logger } from '../../logger.js';
import type { ApiKeysRepository } from '../../store/api-keys.js';
import { hashKey, sameHash } from '../keys/api-keys.js';
import { countAgainst, rateLimitHeaders, type Limits } from './quotas.js';
import type { RateLimiter } from './rate-limiter.js';
import { guardStore } from './store-guard.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may use the route; a route that declares nothing is for admins only. See access-control.ts. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The owner and role this request acts as; set before any handler runs. */
    viewer: Viewer;
  }
  interface FastifyInstance {
    /** Every route registered so far, with the access it declared (undefined: none, so admin only). */
    accessTable: () => { method: string; url: string; access: Access | undefined }[];
  }
}

/** How a server checks requests: not at all (AUTH=off), or by API key with limits (AUTH=required). */
export type AccessControl =
  | { mode: 'off' }
  | {
      mode: 'required';
      keys: Pick<ApiKeysRepository, 'findLive' | 'touch'>;
      /** ADMIN_API_KEY, when set: an admin key that lives in the environment rather than the database. */
      adminKey?: string;
      limiter: RateLimiter;
      limits: Limits;
      logger: Logger;
    };

/** The subprotocol a browser's WebSocket offers next to `bearer.<key>`; the server answers with it. */
export const webSocketProtocol = 'trainer';
const bearerProtocol = 'bearer.';

/** The access a request's route declared: undeclared is admin only (fail closed); no route at all needs a key. */
function accessOf(request: FastifyRequest): Access {
  if (request.is404) return 'read';
  return request.routeOptions.config.access ?? 'admin';
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, or, for a WebSocket upgrade (browsers
 * cannot set headers on one), a `bearer.<key>` entry of `Sec-WebSocket-Protocol`. Never the URL,
 * which ends up in logs and histories. '' for a malformed Authorization header.
 */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer +([\x21-\x7e]+) *$/i.exec(header)?.[1] ?? '';
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
  const offered = request.headers['sec-websocket-protocol']?.split(',') ?? [];
  return offered
    .map((protocol) => protocol.trim())
    .find((protocol) => protocol.startsWith(bearerProtocol))
    ?.slice(7);
}

/** Which subprotocol to answer a WebSocket with: never the one carrying the key. */
export function chooseWebSocketProtocol(offered: Set<string>): string | false {
  if (offered.has(webSocketProtocol)) return webSocketProtocol;
  return [...offered].find((protocol) => !protocol.startsWith(bearerProtocol)) ?? false;
}

interface Principal extends Viewer {
  keyId: string;
}

type Required = Extract<AccessControl, { mode: 'required' }>;

function createAuthenticator(control: Required) {
  const keys = guardStore(control.keys);
  const adminKeyHash = control.adminKey === undefined ? undefined : hashKey(control.adminKey);
  const failures = {
    name: 'failed-auth',
    description: 'failed authentications per address',
    max: control.limits.failedAuthPerAddressPerMinute,
  };

  async function refuse(request: FastifyRequest, message: string): Promise<never> {
    // Only failures are counted and only failures are refused for it: a valid key from the same
    // address is never locked out by someone guessing next to it.
    try {
      await countAgainst(control.limiter, control.logger, failures, request.ip);
    } catch (error) {
      if (error instanceof RateLimited) request.log.warn({ ip: request.ip }, 'too many failed authentications');
      throw error;
    }
    throw new Unauthenticated(message);
  }

  return async function authenticate(request: FastifyRequest): Promise<Principal> {
    const key = presentedKey(request);
    if (key === undefined) return refuse(request, 'this server needs an API key: send Authorization: Bearer <key>');
    const hash = hashKey(key);
    if (adminKeyHash !== undefined && sameHash(hash, adminKeyHash)) {
      return { keyId: 'admin-api-key', owner: 'admin', role: 'admin' };
    }
    const stored = await keys.findLive(hash);
    if (!stored || !sameHash(stored.keyHash, hash)) return refuse(request, 'the API key is unknown or revoked');
    keys.touch(stored.id).catch((error: unknown) => request.log.debug({ err: error }, 'could not record a key use'));
    return { keyId: stored.id, owner: stored.owner, role: stored.role };
  };
}

function actionOf(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
}

/**
 * Every authorisation decision of the API, in one onRequest hook on the root: routes only declare
 * `config: { access }`. Call before registering any route. With AUTH=off every request acts as
 * the local admin, as the server always did.
 */
export function registerAccessControl(app: FastifyInstance, control: AccessControl): void {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  // Read when asked: a plugin may still set a default on its routes' config after this hook ran.
  app.decorate('accessTable', () =>
    routes.flatMap((route) =>
      [route.method].flat().map((method) => ({ method, url: route.url, access: route.config?.access })),
    ),
  );
  app.decorateRequest('viewer', null as unknown as Viewer);
  if (control.mode === 'off') {
    app.addHook('onRequest', (request, _reply, done) => {
      request.viewer = localViewer;
      done();
    });
    return;
  }
  const authenticate = createAuthenticator(control);
  const requests = {
    name: 'requests',
    description: 'requests per API key',
    max: control.limits.requestsPerKeyPerMinute,
  };
  app.addHook('onRequest', async (request, reply) => {
    const access = accessOf(request);
    if (access === 'public') {
      request.viewer = { owner: '', role: 'viewer' satisfies Role };
      return;
    }
    const principal = await authenticate(request);
    const standing = await countAgainst(control.limiter, control.logger, requests, principal.keyId);
    if (standing) void reply.headers(rateLimitHeaders(standing));
    if (!roleAllows(principal.role, access)) throw new Forbidden(principal.role, actionOf(request));
    request.viewer = { owner: principal.owner, role: principal.role };
  });
}

/** Gives every route registered in this plugin context `access`, unless it declares its own (for third-party plugins). */
export function defaultAccess(app: FastifyInstance, access: Access): void {
  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) route.config = { ...route.config, access };
  });
}
