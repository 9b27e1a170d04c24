import { ConfigError, loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';

export interface Service {
  /** Stops taking work, finishes or hands back what is in flight, releases connections. */
  close(): Promise<void>;
}

/**
 * Runs a service as this process: validates the environment (exit 1 with the reasons when it is
 * bad), starts, and closes gracefully on SIGTERM or SIGINT within SHUTDOWN_TIMEOUT_MS.
 */
export async function runProcess(
  name: string,
  start: (config: Config, logger: Logger) => Promise<Service>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`trainer ${name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: `trainer-${name}` });
  // Defence in depth against prototype pollution: without the accessor, `obj.__proto__ = …` in any
  // library is a plain own property. The scripts, the Dockerfile and the manifests pass the flag.
  if (Object.hasOwn(Object.prototype, '__proto__'))
    logger.warn('started without --disable-proto=delete; Object.prototype.__proto__ is still there');
  let service: Service;
  try {
    service = await start(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `${name} failed to start`);
    process.exit(1);
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, `${name} shutting down`);
    const deadline = setTimeout(() => {
      logger.error(`${name} did not close within ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    service.close().then(
      () => {
        logger.info(`${name} stopped`);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, `${name} failed to close cleanly`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
