import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What every key starts with, so a leaked one is recognisable (secret scanners, logs, reviews). */
export const keyPrefix = 'trn_';

/** A new key: 256 random bits, base64url, behind the prefix. Shown once; only its hash is stored. */
export function generateKey(): string {
  return `${keyPrefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * The hash a key is stored and looked up under: hex SHA-256. A fast, unsalted hash is right for
 * keys of 256 random bits: there is no dictionary to try and nothing a slow hash would protect,
 * while a deterministic hash lets a key be found by an index lookup. (A password would need a
 * slow, salted hash; these are not passwords.)
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two hex hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
