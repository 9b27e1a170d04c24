import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from './generated/client.js';

export type { PrismaClient };

// The pg pool under each client, for reads that skip Prisma (see `queryRows`).
const pools = new WeakMap<PrismaClient, pg.Pool>();

export interface PrismaClientOptions {
  poolSize?: number;
  /**
   * RUN_RETENTION_DAYS: the server's default retention, given to every connection as the setting
   * `trainer.run_retention_days`, which the trigger that stamps a finishing run's expiry reads
   * (migration 20261205100000_retention). Unset: no server default.
   */
  runRetentionDays?: number;
}

/** A Prisma client on the pure-JS pg driver (no native query engine), over a pool `queryRows` shares. */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    // A whole number from the parsed config, so it cannot carry anything but digits into the option.
    ...(options.runRetentionDays === undefined
      ? {}
      : { options: `-c trainer.run_retention_days=${Math.trunc(options.runRetentionDays)}` }),
  });
  // An idle connection that drops is replaced on the next query, which reports any outage itself;
  // without a listener its 'error' event would end the process before Prisma first connects.
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(prisma, pool);
  return prisma;
}

// Statement names by SQL text: Postgres parses and plans a named statement once per connection.
// Texts come from the code's templates (values are parameters), so they are few; past the bound,
// statements go unnamed rather than growing every connection's cache.
const statementNames = new Map<string, string>();
const maxStatementNames = 500;

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < maxStatementNames) {
    name = `trainer_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * The rows of a statement (mostly reads), straight from pg: Prisma's `$queryRaw` costs several times the query's own
 * client CPU (it maps every value in JS), which the hottest reads cannot afford. pg types the
 * values as Prisma does for these reads (timestamps as Dates, JSON parsed, arrays as arrays); rows
 * still go through the caller's schema or typed mapper. Falls back to Prisma for a client made elsewhere.
 */
export async function queryRows(prisma: PrismaClient, query: Prisma.Sql): Promise<Record<string, unknown>[]> {
  const pool = pools.get(prisma);
  if (!pool) return prisma.$queryRaw<Record<string, unknown>[]>(query);
  const name = statementName(query.text);
  const result = await pool.query<Record<string, unknown>>({
    ...(name ? { name } : {}),
    text: query.text,
    values: query.values,
  });
  return result.rows;
}

/**
 * Runs `use` in one transaction on a connection of the pool under `prisma`, straight through pg
 * (BEGIN, then COMMIT, or ROLLBACK when `use` throws). For writes of large binary values: pg sends a
 * Buffer parameter as binary, where Prisma would encode it as text and, for a `create`, read the whole
 * row back.
 */
export async function inPoolTransaction<T>(
  prisma: PrismaClient,
  use: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('inPoolTransaction needs a client made by createPrismaClient');
  const client = await pool.connect();
  // A checked-out client has no listener of the pool's: a connection that drops between two of
  // `use`'s queries (Postgres restarting while the next chunk is made) would emit an 'error' nobody
  // hears and end the process. The next query fails with it instead, and the client is not reused.
  let broken = false;
  let cut: unknown;
  const dropped = (error: unknown) => {
    broken = true;
    cut ??= error;
  };
  client.on('error', dropped);
  try {
    await client.query('BEGIN');
    const result = await use(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is not given back to the pool.
    if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
    // What cut the connection says why (pg's own "not queryable" for the query after it does not).
    throw cut ?? error;
  } finally {
    client.off('error', dropped);
    client.release(broken);
  }
}

/** Runs `use` with a single pg connection to `databaseUrl`, always closing it. */
export async function withConnection<T>(databaseUrl: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  // A connection that drops between two queries fails the next one; unheard, its 'error' would end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database');
  return name;
}

function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Creates the database DATABASE_URL names when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  await withConnection(maintenanceUrl(databaseUrl), async (client) => {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    } catch (error) {
      // Another process created it between our check and our CREATE.
      // 42P04: duplicate_database; 23505: the catalog's unique index, when both CREATEs overlap.
      const raced = error instanceof pg.DatabaseError && (error.code === '42P04' || error.code === '23505');
      if (!raced) throw error;
    }
  });
}

/** Drops a database, disconnecting its sessions; for tests and tooling. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  await withConnection(maintenanceUrl(databaseUrl), (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`),
  );
}
