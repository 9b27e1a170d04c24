import { runProcess } from './process.js';
import { startApi } from './start-api.js';
import { startWorker } from './start-worker.js';

// The API and one worker in one process: the local default behind `npm start`.
await runProcess('all', async (config, logger) => {
  const worker = await startWorker(config, logger.child({ role: 'worker' }));
  const api = await startApi(config, logger.child({ role: 'api' }));
  logger.info({ address: api.address }, 'api listening');
  return {
    async close() {
      await api.close();
      await worker.close();
    },
  };
});
