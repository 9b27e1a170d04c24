import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import compress from '@fastify/compress';
import fastifyStatic from '@fastify/static';
import { defaultAccess } from './access-control.js';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build` puts the dashboard (vite's output), from dist/api or src/api alike. */
export const defaultDashboardRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web-dist');

/**
 * The dashboard's own URLs. Each serves index.html and the page is chosen in the browser. They are
 * listed rather than caught by a wildcard so that the JSON API keeps its paths (and its JSON 404s):
 * GET /compare, /sweeps, /datasets and /webhooks are API routes, so their pages live at /runs/compare,
 * /runs/sweeps, /data and /hooks.
 */
export const dashboardPages = [
  '/',
  '/runs',
  '/runs/new',
  '/runs/compare',
  '/runs/live',
  '/runs/:id',
  '/runs/sweeps',
  '/runs/sweeps/:id',
  '/data',
  '/hooks',
  '/hooks/:id',
];

export interface DashboardOptions {
  /** The built dashboard: index.html and assets/. */
  root?: string;
}

const notBuilt =
  'The dashboard is not built. Run `npm run build` (it builds the API and the dashboard), then reload.\n';

function sendIndex(reply: FastifyReply, root: string): FastifyReply {
  // Revalidated on every visit, so a new build's hashed asset names are picked up at once.
  return reply
    .header('cache-control', 'no-cache')
    .type('text/html; charset=utf-8')
    .sendFile('index.html', root, { cacheControl: false });
}

/**
 * Serves the dashboard: hashed assets under /assets/ cached for a year, index.html for every page URL,
 * both compressed (gzip or brotli, as the browser accepts). Encapsulated, so compression and the
 * static file routes touch no API route. Without a build, the page URLs answer how to make one.
 */
export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const root = options.root ?? defaultDashboardRoot;
  // The pages and assets are public: a page asks for a key itself when the API needs one.
  defaultAccess(app, 'public');
  const hide = { schema: { hide: true } };
  if (!existsSync(path.join(root, 'index.html'))) {
    for (const url of dashboardPages) app.get(url, hide, (_request, reply) => reply.type('text/plain').send(notBuilt));
    return;
  }
  await app.register(compress, { encodings: ['br', 'gzip'] });
  await app.register(fastifyStatic, {
    root: path.join(root, 'assets'),
    prefix: '/assets/',
    // File names carry a content hash: a changed file gets a new name, so these never go stale.
    maxAge: '365d',
    immutable: true,
    // The build writes .br and .gz copies of each text file: sent as they are, not compressed again.
    preCompressed: true,
    index: false,
    redirect: false,
  });
  for (const url of [...dashboardPages, '/index.html']) app.get(url, hide, (_request, reply) => sendIndex(reply, root));
}
