import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../../../src/store/webhooks/secret-box.js';

const key = 'a key of at least thirty-two characters, for tests';
const secret = 'whsec_0123456789abcdefghijklmnopqrstuvwxyzABCD';

describe('webhook secret box', () => {
  it('seals a secret into text that does not contain it, and opens it again', () => {
    const box = createSecretBox(key);
    const sealed = box.seal(secret, 'row-1');
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toContain(Buffer.from(secret).toString('base64url').slice(0, 20));
    expect(box.open(sealed, 'row-1')).toBe(secret);
    expect(box.seal(secret, 'row-1')).not.toBe(sealed);
  });

  it('refuses another key, another row and altered text', () => {
    const sealed = createSecretBox(key).seal(secret, 'row-1');
    expect(() => createSecretBox(`${key}!`).open(sealed, 'row-1')).toThrow();
    expect(() => createSecretBox(key).open(sealed, 'row-2')).toThrow();
    // A character inside the text, whose six bits all count (the last one's lowest bits may be padding).
    const at = sealed.length - 10;
    const altered = `${sealed.slice(0, at)}${sealed[at] === 'A' ? 'g' : 'A'}${sealed.slice(at + 1)}`;
    expect(Buffer.from(altered.split('.')[1] ?? '', 'base64url')).not.toEqual(
      Buffer.from(sealed.split('.')[1] ?? '', 'base64url'),
    );
    expect(() => createSecretBox(key).open(altered, 'row-1')).toThrow();
    expect(() => createSecretBox(key).open('plain', 'row-1')).toThrow('not a sealed webhook secret');
  });
});
