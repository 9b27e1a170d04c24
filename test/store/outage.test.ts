import { describe, expect, it } from 'vitest';
import { createPrismaClient } from '../../src/store/database.js';
import { isDatabaseUnavailable } from '../../src/store/outage.js';

const withCode = (code: string, extra: object = {}) => Object.assign(new Error('x'), { code }, extra);

describe('recognising an unreachable Postgres', () => {
  it('by the codes Postgres, pg, Prisma and Node give, and by nothing in a message but pg plain errors', () => {
    for (const code of [
      '08006',
      '08001',
      '57P01',
      '57P02',
      '57P03',
      '53300',
      'P1001',
      'P1017',
      'P2024',
      'ECONNREFUSED',
      'EPIPE',
    ]) {
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(true);
    }
    for (const code of ['23505', '42P01', 'P2002', 'P2025'])
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(false);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe(
      true,
    );
    expect(isDatabaseUnavailable(new Error('connection refused by the user'))).toBe(false);
  });

  it('through a cause chain and the driver adapter error Prisma attaches', () => {
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toBe(true);
    const rawQueryFailure = withCode('P2010', {
      meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', originalCode: '57P01' } } },
    });
    expect(isDatabaseUnavailable(rawQueryFailure)).toBe(true);
    const unreachable = withCode('P2010', {
      meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } },
    });
    expect(isDatabaseUnavailable(unreachable)).toBe(true);
  });

  it('in what Prisma really throws when nothing listens on the port', async () => {
    const prisma = createPrismaClient('postgresql://postgres@127.0.0.1:1/nowhere', { poolSize: 1 });
    try {
      const [raw, model] = await Promise.all([
        prisma.$queryRaw`SELECT 1`.then(
          () => null,
          (error: unknown) => error,
        ),
        prisma.job.findFirst().then(
          () => null,
          (error: unknown) => error,
        ),
      ]);
      expect(isDatabaseUnavailable(raw)).toBe(true);
      expect(isDatabaseUnavailable(model)).toBe(true);
    } finally {
      await prisma.$disconnect();
    }
  });
});
