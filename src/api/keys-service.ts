import { randomUUID } from 'node:crypto';
import type { Role } from '../domain/access.js';
import { ApiKeyNotFound } from '../domain/errors.js';
import type { ApiKeyRecord, ApiKeysRepository } from '../store/api-keys.js';
import { generateKey, hashKey } from './api-keys.js';
import { uuidPattern } from './schemas/common.js';
import { guardStore } from './store-guard.js';

export interface NewKeyRequest {
  owner: string;
  role: Role;
  name: string;
}

/** Creating, listing and revoking API keys; used by /keys and by `npm run keys`. */
export function createKeysService(repository: ApiKeysRepository) {
  const keys = guardStore(repository);
  return {
    /** A new key and its record; the key itself exists only in this answer. */
    async create(request: NewKeyRequest): Promise<{ key: string; record: ApiKeyRecord }> {
      const key = generateKey();
      const record = await keys.create({ id: randomUUID(), ...request, keyHash: hashKey(key) });
      return { key, record };
    },
    list: (): Promise<ApiKeyRecord[]> => keys.list(),
    /**
     * Revokes a key. Every API process looks keys up in Postgres on each request, so the key stops
     * working on all of them with the next request.
     */
    async revoke(id: string): Promise<void> {
      if (!uuidPattern.test(id) || !(await keys.revoke(id.toLowerCase()))) throw new ApiKeyNotFound(id);
    },
  };
}

export type KeysService = ReturnType<typeof createKeysService>;
