// The API key the dashboard sends (README "Access control"). It is kept for this browser tab's session
// (sessionStorage) unless the person ticks "remember on this device" (localStorage), and never put in a
// URL: URLs end up in logs, histories and shared links.

const storageName = 'trainer.apiKey';

function storages(): Storage[] {
  try {
    return [sessionStorage, localStorage];
  } catch {
    // Storage can be switched off (a privacy setting): the key then lives until the tab closes.
    return [];
  }
}

let inMemory: string | null = null;

/** The key this dashboard holds, or null (AUTH=off needs none). */
export function currentKey(): string | null {
  for (const storage of storages()) {
    const key = storage.getItem(storageName);
    if (key) return key;
  }
  return inMemory;
}

/** Holds `key` for this session, or on this device when `remember` (the person's choice). */
export function saveKey(key: string, remember: boolean): void {
  forgetKey();
  inMemory = key;
  try {
    (remember ? localStorage : sessionStorage).setItem(storageName, key);
  } catch {
    // Kept in memory only.
  }
}

/** Drops the key from both storages ("sign out / change key", or a key the server refused). */
export function forgetKey(): void {
  inMemory = null;
  for (const storage of storages()) storage.removeItem(storageName);
}

/** `Authorization: Bearer <key>` when a key is held; nothing otherwise. */
export function authHeaders(key = currentKey()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/**
 * The subprotocols a WebSocket offers: browsers cannot set headers on one, so the key travels as
 * `bearer.<key>` next to `trainer`, the one the server answers with (it never echoes the key).
 */
export function socketProtocols(): string[] {
  const key = currentKey();
  return key ? ['trainer', `bearer.${key}`] : [];
}

const refusalListeners = new Set<(reason: string | null) => void>();

/**
 * Called whenever the API answers 401, with its message when a key was sent (null when none was): the
 * dashboard then asks for a key.
 */
export function onKeyRefused(listener: (reason: string | null) => void): () => void {
  refusalListeners.add(listener);
  return () => refusalListeners.delete(listener);
}

/**
 * Reports a 401 to a request made with `usedKey`: that key is dropped and the listeners ask for
 * another. A late answer to a request made before the current key was entered changes nothing.
 */
export function keyRefused(message: string, usedKey: string | null): void {
  if (usedKey !== currentKey()) return;
  forgetKey();
  for (const listener of refusalListeners) listener(usedKey === null ? null : message);
}
