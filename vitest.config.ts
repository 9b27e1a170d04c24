import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Tests import the client package from its TypeScript sources (its exports' `source` condition), as
  // the type checks do, so they need no build of it.
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/redis-cleanup.ts'],
    // Training tests run real (small) jobs; they get time, but never unbounded time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
