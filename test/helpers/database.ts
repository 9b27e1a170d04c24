import { randomBytes } from 'node:crypto';
import { createPrismaClient, dropDatabase, type PrismaClient } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';

const serverUrl = process.env.TEST_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';

/** A fresh name, so test files never share a database or a queue. */
export function uniqueName(label: string): string {
  return `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

/** A new, migrated database of its own for one test file; `drop` removes it. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const url = `${serverUrl}/trainer_test_${uniqueName(label)}`;
  await migrate(url);
  const prisma = createPrismaClient(url, { poolSize: 4 });
  return {
    url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await dropDatabase(url);
    },
  };
}
