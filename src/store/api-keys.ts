import type { PrismaClient } from './database.js';
import type { ApiKeyRole } from './generated/enums.js';

/** An API key as listed: never its secret, nor even its hash. */
export interface ApiKeyRecord {
  id: string;
  owner: string;
  role: ApiKeyRole;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** A live key found by the hash of its secret, with the hash it was stored under. */
export interface StoredApiKey extends ApiKeyRecord {
  keyHash: string;
}

export interface NewApiKey {
  id: string;
  owner: string;
  role: ApiKeyRole;
  name: string;
  keyHash: string;
}

/** API keys: created, listed, revoked, and looked up by hash on every authenticated request. */
export interface ApiKeysRepository {
  create: (key: NewApiKey) => Promise<ApiKeyRecord>;
  /** Keys that are not revoked, oldest first. */
  list: () => Promise<ApiKeyRecord[]>;
  /** Revokes a key; false when no live key has this id. */
  revoke: (id: string) => Promise<boolean>;
  /** The live (not revoked) key stored under this hash, or null. */
  findLive: (keyHash: string) => Promise<StoredApiKey | null>;
  /** Records a use, at most once a minute per key so a busy key does not write on every request. */
  touch: (id: string) => Promise<void>;
}

const listed = { id: true, owner: true, role: true, name: true, createdAt: true, lastUsedAt: true } as const;

export function createApiKeysRepository(prisma: PrismaClient): ApiKeysRepository {
  return {
    create: (key) => prisma.apiKey.create({ data: key, select: listed }),
    list: () => prisma.apiKey.findMany({ where: { revokedAt: null }, select: listed, orderBy: { createdAt: 'asc' } }),
    async revoke(id) {
      const { count } = await prisma.apiKey.updateMany({
        where: { id, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      return count === 1;
    },
    findLive: (keyHash) =>
      prisma.apiKey.findFirst({ where: { keyHash, revokedAt: null }, select: { ...listed, keyHash: true } }),
    async touch(id) {
      await prisma.$executeRaw`
        UPDATE api_keys SET last_used_at = now()
        WHERE id = ${id}::uuid AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;
    },
  };
}
