import { generateApiKey, hashApiKey, looksLikeApiKey, parseApiKey } from './api-key-format';

describe('API key format', () => {
  it('generates distinct llk_ keys whose prefix parses back', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).toMatch(/^llk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(parseApiKey(a.key)).toEqual({ prefix: a.prefix });
    expect(looksLikeApiKey(a.key)).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOi.x.y')).toBe(false);
  });

  it('refuses anything that is not exactly a key', () => {
    const { key } = generateApiKey();
    for (const bad of [
      '',
      'llk_',
      `${key}x`,
      key.slice(0, -1),
      key.replace('llk_', 'llx_'),
      ` ${key}`,
    ]) {
      expect(parseApiKey(bad)).toBeUndefined();
    }
  });

  it('hashes to 32 bytes that depend on the whole key', () => {
    const { key } = generateApiKey();
    expect(hashApiKey(key)).toHaveLength(32);
    const other = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(hashApiKey(key).equals(hashApiKey(other))).toBe(false);
  });
});
