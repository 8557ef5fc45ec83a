import { randomBytes } from 'node:crypto';
import { DataKeyCache } from './data-key-cache';

const zero = Buffer.alloc(32);
const key = () => randomBytes(32);

describe('DataKeyCache', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000;
  });

  it('hands out copies: the caller may wipe its copy without harming the cached key', () => {
    const cache = new DataKeyCache({ maxKeys: 10, maxAgeMs: 60_000, maxUses: 100 }, clock);
    const original = key();
    const expected = Buffer.from(original);
    cache.set('k1', original);
    const copy = cache.get('k1')!;
    expect(copy.equals(expected)).toBe(true);
    copy.fill(0);
    expect(cache.get('k1')!.equals(expected)).toBe(true);
    expect(cache.get('missing')).toBeUndefined();
  });

  it('evicts the least recently used key past maxKeys and wipes it', () => {
    const cache = new DataKeyCache({ maxKeys: 2, maxAgeMs: 60_000, maxUses: 100 }, clock);
    const [a, b, c] = [key(), key(), key()];
    cache.set('a', a);
    cache.set('b', b);
    cache.get('a');
    cache.set('c', c);
    expect(cache.size).toBe(2);
    expect(cache.has('b')).toBe(false);
    expect(b.equals(zero)).toBe(true);
    expect(a.equals(zero)).toBe(false);
  });

  it('drops a key maxAgeMs after it was cached, however often it is used, and wipes it', () => {
    const cache = new DataKeyCache({ maxKeys: 10, maxAgeMs: 5_000, maxUses: 1_000 }, clock);
    const k = key();
    cache.set('k', k);
    now += 4_000;
    expect(cache.get('k')).toBeDefined();
    now += 1_001;
    expect(cache.get('k')).toBeUndefined();
    expect(k.equals(zero)).toBe(true);
  });

  it('drops a key once it has been handed out maxUses times, counting uses per call', () => {
    const cache = new DataKeyCache({ maxKeys: 10, maxAgeMs: 60_000, maxUses: 5 }, clock);
    const k = key();
    cache.set('k', k);
    expect(cache.get('k', 3)).toBeDefined();
    expect(cache.get('k', 2)).toBeDefined();
    expect(cache.get('k')).toBeUndefined();
    expect(cache.has('k')).toBe(false);
    expect(k.equals(zero)).toBe(true);
  });

  it('wipes on delete, on replacement and on clear', () => {
    const cache = new DataKeyCache({ maxKeys: 10, maxAgeMs: 60_000, maxUses: 100 }, clock);
    const [a, b, c, d] = [key(), key(), key(), key()];
    cache.set('a', a);
    cache.delete('a');
    expect(a.equals(zero)).toBe(true);
    cache.set('b', b);
    cache.set('b', c);
    expect(b.equals(zero)).toBe(true);
    expect(c.equals(zero)).toBe(false);
    cache.set('b', c);
    expect(c.equals(zero)).toBe(false);
    cache.set('d', d);
    cache.clear();
    expect(c.equals(zero)).toBe(true);
    expect(d.equals(zero)).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('purges expired keys by timer, without waiting for a lookup', async () => {
    const cache = new DataKeyCache({ maxKeys: 10, maxAgeMs: 20, maxUses: 100 });
    const k = key();
    cache.set('k', k);
    await new Promise((r) => setTimeout(r, 80));
    expect(k.equals(zero)).toBe(true);
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => new DataKeyCache({ maxKeys: 0, maxAgeMs: 1, maxUses: 1 })).toThrow(/maxKeys/);
  });
});
