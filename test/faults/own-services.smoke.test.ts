import { expect, it } from 'vitest';
import { withConnection } from '../../src/store/database.js';
import { startOwnPostgres, startOwnRedis } from '../helpers/own-services.js';
import { createRedis } from '../../src/queue/redis.js';

it('starts, stops and restarts private Postgres and Redis', async () => {
  const pg = await startOwnPostgres();
  const redis = await startOwnRedis();
  try {
    const one = await withConnection(`${pg.server}/postgres`, (client) =>
      client.query<{ one: number }>('SELECT 1 AS one'),
    );
    expect(one.rows[0]?.one).toBe(1);
    const client = createRedis(redis.url, 'worker');
    client.on('error', () => undefined);
    await client.set('k', 'v');
    await redis.restart();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await client.get('k')).toBeNull();
    client.disconnect();
    await pg.stop();
    await expect(withConnection(`${pg.server}/postgres`, (c) => c.query('SELECT 1'))).rejects.toThrow();
    await pg.start();
    const again = await withConnection(`${pg.server}/postgres`, (c) => c.query<{ two: number }>('SELECT 2 AS two'));
    expect(again.rows[0]?.two).toBe(2);
  } finally {
    await redis.stop();
    await pg.destroy();
  }
});
