import { runProcess } from './process.js';
import { startApi } from './start-api.js';

await runProcess('api', async (config, logger) => {
  const api = await startApi(config, logger);
  logger.info({ address: api.address }, 'api listening');
  return api;
});
