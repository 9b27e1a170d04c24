// `npm run keys -- create|list|revoke`: API keys managed straight in the database, for the first
// admin of a server without ADMIN_API_KEY (and for scripts). Reads DATABASE_URL like the server.
import { parseArgs } from 'node:util';
import { createKeysService } from '../api/keys/keys-service.js';
import { newKeyBody } from '../api/keys/schemas.js';
import { loadConfig } from '../config.js';
import { createApiKeysRepository } from '../store/api-keys.js';
import { createPrismaClient } from '../store/database.js';
import { migrate } from '../store/migrate.js';

const usage = `usage:
  npm run keys -- create --owner <owner> --role viewer|member|admin --name <name>
  npm run keys -- list
  npm run keys -- revoke <id>`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { owner: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
});

async function run(keys: ReturnType<typeof createKeysService>): Promise<number> {
  const [command, id] = positionals;
  if (command === 'create') {
    const request = newKeyBody.safeParse({ owner: values.owner, role: values.role, name: values.name });
    if (!request.success) {
      process.stderr.write(
        `${request.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n')}\n${usage}\n`,
      );
      return 2;
    }
    const { key, record } = await keys.create(request.data);
    process.stderr.write(`created key ${record.id} for ${record.owner} (${record.role}); it is shown only now:\n`);
    process.stdout.write(`${key}\n`);
    return 0;
  }
  if (command === 'list') {
    for (const key of await keys.list()) {
      const lastUsed = key.lastUsedAt?.toISOString() ?? 'never';
      process.stdout.write(
        `${key.id}  ${key.owner}  ${key.role}  ${key.name}  created ${key.createdAt.toISOString()}  last used ${lastUsed}\n`,
      );
    }
    return 0;
  }
  if (command === 'revoke' && id !== undefined) {
    await keys.revoke(id);
    process.stderr.write(`revoked key ${id}\n`);
    return 0;
  }
  process.stderr.write(`${usage}\n`);
  return 2;
}

const config = loadConfig();
await migrate(config.DATABASE_URL);
const prisma = createPrismaClient(config.DATABASE_URL);
try {
  process.exitCode = await run(createKeysService(createApiKeysRepository(prisma)));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await prisma.$disconnect();
}
