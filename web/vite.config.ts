import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';
import { precompress } from './precompress.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// The dashboard is plain Preact with automatic JSX; the API serves web-dist/ (src/api/http/dashboard.ts).
export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  plugins: [precompress()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(here, '../web-dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  // The client package from its TypeScript sources (its exports' `source` condition), so the dashboard
  // needs no build of it; the domain rules it imports come from ../src/domain the same way.
  resolve: { alias: { react: 'preact/compat' }, conditions: ['source', ...defaultClientConditions] },
  // `npm run dev:web` proxies the API, so the dashboard can be worked on with hot reload.
  server: {
    proxy: {
      '^/(jobs|compare|health|events|openapi.json|datasets|whoami|keys|sweeps)': {
        target: 'http://127.0.0.1:3000',
        ws: true,
      },
    },
  },
});
