import { ConfigError, loadConfig } from '../config.js';
import { migrate } from '../store/migrate.js';

// `npm run migrate`: create the database if needed and apply pending migrations, then exit.
try {
  const config = loadConfig();
  const applied = await migrate(config.DATABASE_URL);
  process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'database is up to date\n');
} catch (error) {
  process.stderr.write(`trainer migrate: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
  process.exit(1);
}
