import type { Config } from '../../src/config.js';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { silentLogger, testConfig } from './env.js';
import { spawnService, type ChildService } from './processes.js';

export interface Stack {
  database: TestDatabase;
  config: Config;
  /** The API, in this process. */
  api: Service & { address: string };
  /** A worker, in a process of its own. */
  worker: ChildService;
  stop(): Promise<void>;
}

/** A whole deployment for one test file: its own database and queue, a worker process and the API. */
export async function startStack(label: string, overrides: Record<string, string> = {}): Promise<Stack> {
  const database = await createTestDatabase(label);
  const config = testConfig(database.url, overrides);
  const worker = spawnService('worker', config);
  await worker.waitFor(/worker waiting for jobs/);
  const api = await startApi(config, silentLogger());
  return {
    database,
    config,
    api,
    worker,
    async stop() {
      await api.close();
      await worker.stop();
      await database.drop();
    },
  };
}
