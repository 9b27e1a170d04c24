import { randomUUID } from 'node:crypto';
import type { Role } from '../../domain/access.js';
import { ApiKeyNotFound } from '../../domain/errors.js';
import type { ApiKeyRecord, ApiKeysRepository } from '../../store/api-keys.js';

export type { ApiKeyRecord };
import { generateKey, hashKey } from './api-keys.js';
import { uuidPattern } from '../http/common-schemas.js';
import { guardStore } from '../http/store-guard.js';

export interface NewKeyRequest {
  owner: string;
  role: Role;
  name: string;
}

export interface KeysServiceOptions {
  /** Called once a revocation committed: the API drops the key from its caches, here and elsewhere. */
  onRevoked?: (keyId: string) => void;
}

/** Creating, listing and revoking API keys; used by /keys and by `npm run keys`. */
export function createKeysService(repository: ApiKeysRepository, options: KeysServiceOptions = {}) {
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
     * Revokes a key. API processes remember keys for a few seconds (key-cache.ts): `onRevoked` makes
     * this one forget it at once and tells the others; without it they notice within API_KEY_CACHE_MS.
     */
    async revoke(id: string): Promise<void> {
      const keyId = id.toLowerCase();
      if (!uuidPattern.test(id) || !(await keys.revoke(keyId))) throw new ApiKeyNotFound(id);
      options.onRevoked?.(keyId);
    },
  };
}

export type KeysService = ReturnType<typeof createKeysService>;
