import { describe, expect, it } from 'vitest';
import { ByteLru } from '../../src/inference/byte-lru.js';

describe('ByteLru', () => {
  it('evicts the least recently used entries once their bytes exceed the bound', () => {
    const evicted: string[] = [];
    const cache = new ByteLru<string>(100, (key) => evicted.push(key));
    cache.set('a', 'A', 40);
    cache.set('b', 'B', 40);
    expect(cache.get('a')).toBe('A'); // a is now more recent than b
    cache.set('c', 'C', 40);
    expect(evicted).toEqual(['b']);
    expect(cache.keys()).toEqual(['a', 'c']);
    expect(cache.bytes).toBe(80);
    cache.set('d', 'D', 70);
    expect(evicted).toEqual(['b', 'a', 'c']);
    expect(cache.keys()).toEqual(['d']);
  });

  it('keeps an entry larger than the bound alone rather than refusing it', () => {
    const cache = new ByteLru<string>(10);
    cache.set('small', 's', 5);
    cache.set('huge', 'h', 50);
    expect(cache.keys()).toEqual(['huge']);
    expect(cache.get('huge')).toBe('h');
  });

  it('replacing or deleting an entry hands the old value to onEvict and frees its bytes', () => {
    const evicted: string[] = [];
    const cache = new ByteLru<string>(100, (_key, value) => evicted.push(value));
    cache.set('a', 'first', 30);
    cache.set('a', 'second', 20);
    expect(evicted).toEqual(['first']);
    expect(cache.bytes).toBe(20);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(evicted).toEqual(['first', 'second']);
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
  });
});
