import type { ApiKeysRepository, StoredApiKey } from '../../store/api-keys.js';

type KeyLookups = Pick<ApiKeysRepository, 'findLive' | 'touch'>;

export interface KeyCacheOptions {
  /** How long a found key is trusted without asking Postgres again (API_KEY_CACHE_MS); 0: never. */
  ttlMs: number;
  /** Most keys remembered at once (API_KEY_CACHE_ENTRIES); the oldest go first. */
  maxEntries: number;
  /** Least time between two recorded uses of one key: the store keeps them to the minute anyway. */
  touchIntervalMs?: number;
  /** Milliseconds on a clock that never goes back; tests move it by hand. */
  now?: () => number;
}

export interface KeyCache extends KeyLookups {
  /** Drops a revoked key at once: the next request that presents it is looked up again. */
  forget(keyId: string): void;
  /** Drops every key, when revocations may have been missed (the Redis subscription was down). */
  clear(): void;
}

interface Entry {
  key: StoredApiKey;
  expiresAt: number;
}

/**
 * Key lookups by hash, remembered for `ttlMs` so that a busy client costs no query per request, and
 * recorded uses, written at most once per `touchIntervalMs` per key. Only live keys are remembered:
 * a key created a moment ago must work on its first request, and guessed keys are already counted
 * and refused by the failed-authentication limit. A revocation reaches this cache through `forget`.
 */
export function createKeyCache(keys: KeyLookups, options: KeyCacheOptions): KeyCache {
  const { ttlMs, maxEntries, touchIntervalMs = 60_000, now = () => performance.now() } = options;
  // Insertion order is age order: re-inserted on every refresh, so the first entry is the oldest.
  const entries = new Map<string, Entry>();
  const touchedAt = new Map<string, number>();
  // Lookups of the same hash in flight, shared by the requests that arrive meanwhile.
  const inFlight = new Map<string, { generation: number; lookup: Promise<StoredApiKey | null> }>();
  // Counts revocations: a lookup that started before one may have read the revoked key as live.
  let generation = 0;

  const bounded = <V>(map: Map<string, V>) => {
    while (map.size > maxEntries) map.delete(map.keys().next().value as string);
  };

  async function lookUp(keyHash: string, started: number): Promise<StoredApiKey | null> {
    const found = await keys.findLive(keyHash);
    if (found && started === generation) {
      entries.delete(keyHash);
      entries.set(keyHash, { key: found, expiresAt: now() + ttlMs });
      bounded(entries);
    }
    return found;
  }

  return {
    findLive(keyHash) {
      if (ttlMs <= 0) return keys.findLive(keyHash);
      const entry = entries.get(keyHash);
      if (entry && entry.expiresAt > now()) return Promise.resolve(entry.key);
      if (entry) entries.delete(keyHash);
      const pending = inFlight.get(keyHash);
      if (pending?.generation === generation) return pending.lookup;
      const lookup = lookUp(keyHash, generation);
      inFlight.set(keyHash, { generation, lookup });
      const settled = () => {
        if (inFlight.get(keyHash)?.lookup === lookup) inFlight.delete(keyHash);
      };
      lookup.then(settled, settled);
      return lookup;
    },

    touch(id) {
      if (ttlMs <= 0) return keys.touch(id);
      const last = touchedAt.get(id);
      if (last !== undefined && now() - last < touchIntervalMs) return Promise.resolve();
      touchedAt.delete(id);
      touchedAt.set(id, now());
      bounded(touchedAt);
      return keys.touch(id);
    },

    forget(keyId) {
      generation++;
      for (const [keyHash, entry] of entries) if (entry.key.id === keyId) entries.delete(keyHash);
      touchedAt.delete(keyId);
    },

    clear() {
      generation++;
      entries.clear();
    },
  };
}
