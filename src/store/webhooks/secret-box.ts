import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Seals and opens webhook secrets, so the database holds them only encrypted. */
export interface SecretBox {
  /** `secret` encrypted and authenticated for the row `rowId` (it cannot be moved to another row). */
  seal(secret: string, rowId: string): string;
  /** The secret `seal` was given; throws when the text was altered, moved or sealed under another key. */
  open(sealed: string, rowId: string): string;
}

const version = 'v1';
const ivBytes = 12;
const tagBytes = 16;

/**
 * AES-256-GCM under a key derived (HKDF-SHA256) from `keyMaterial`, WEBHOOK_SECRET_KEY. A fresh
 * random IV for every seal; the row id is the additional authenticated data.
 */
export function createSecretBox(keyMaterial: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', keyMaterial, 'trainer', 'webhook-secrets/v1', 32));
  return {
    seal(secret, rowId) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(rowId));
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${version}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
    },
    open(sealed, rowId) {
      const [prefix, payload] = sealed.split('.');
      if (prefix !== version || payload === undefined) throw new Error('not a sealed webhook secret');
      const bytes = Buffer.from(payload, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, ivBytes));
      decipher.setAAD(Buffer.from(rowId));
      decipher.setAuthTag(bytes.subarray(ivBytes, ivBytes + tagBytes));
      return Buffer.concat([decipher.update(bytes.subarray(ivBytes + tagBytes)), decipher.final()]).toString('utf8');
    },
  };
}
