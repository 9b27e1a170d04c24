import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inPoolTransaction, queryRows, withConnection } from '../../src/store/database.js';
import { isDatabaseUnavailable } from '../../src/store/outage.js';
import { Prisma } from '../../src/store/generated/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a transaction straight through pg on the pool', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('pool_transaction');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('commits, and rolls back when its work throws', async () => {
    await queryRows(database.prisma, Prisma.sql`CREATE TABLE IF NOT EXISTS pool_probe (n int)`);
    await inPoolTransaction(database.prisma, (client) => client.query('INSERT INTO pool_probe VALUES (1)'));
    await expect(
      inPoolTransaction(database.prisma, async (client) => {
        await client.query('INSERT INTO pool_probe VALUES (2)');
        throw new Error('given up');
      }),
    ).rejects.toThrow('given up');
    expect(await queryRows(database.prisma, Prisma.sql`SELECT n FROM pool_probe`)).toEqual([{ n: 1 }]);
  });

  it('survives its connection dropping between two queries: the next fails as "unavailable", the process lives on', async () => {
    const failure = await inPoolTransaction(database.prisma, async (client) => {
      const [row] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      // Cut from another connection while this one runs no query (as a restarting Postgres does).
      await withConnection(database.url, (other) => other.query('SELECT pg_terminate_backend($1)', [row?.pid]));
      await sleep(300);
      return client.query('SELECT 1').then(
        () => null,
        (error: unknown) => error,
      );
    }).catch((error: unknown) => error);
    expect(failure).not.toBeNull();
    expect(isDatabaseUnavailable(failure)).toBe(true);
    // The dropped connection was not given back to the pool: the next transaction gets a good one.
    for (let attempt = 0; attempt < 6; attempt++)
      expect(
        await inPoolTransaction(
          database.prisma,
          async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows,
        ),
      ).toEqual([{ one: 1 }]);
  });
});
