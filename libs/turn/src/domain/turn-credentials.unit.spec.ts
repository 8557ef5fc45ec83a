import { createHmac } from 'node:crypto';
import { acceptedPasswords, mintTurnCredential, parseTurnUsername } from './turn-credentials';
import { buildIceServers } from './ice-servers';

const now = new Date('2026-12-07T12:00:00Z');

describe('TURN credentials (use-auth-secret scheme)', () => {
  it('mints <expiry>:<tenant>:<user> with base64(HMAC-SHA1(secret, username)), as coturn checks it', () => {
    const c = mintTurnCredential({
      secret: 's3cret',
      tenantId: 't1',
      userId: 'u:1',
      now,
      ttlSeconds: 600,
    });
    const expiry = now.getTime() / 1000 + 600;
    expect(c.username).toBe(`${expiry}:t1:u:1`);
    expect(c.password).toBe(createHmac('sha1', 's3cret').update(c.username).digest('base64'));
    expect(c.expiresAt).toEqual(new Date(expiry * 1000));
    expect(parseTurnUsername(c.username)).toEqual({
      expiresAt: c.expiresAt,
      tenantId: 't1',
      userId: 'u:1',
    });
  });

  it('accepts every configured secret (rotation) and nothing once expired', () => {
    const c = mintTurnCredential({
      secret: 'old',
      tenantId: 't1',
      userId: 'u1',
      now,
      ttlSeconds: 60,
    });
    const accepted = acceptedPasswords(['new', 'old'], c.username, now);
    expect(accepted?.passwords).toContain(c.password);
    expect(acceptedPasswords(['new'], c.username, now)?.passwords).not.toContain(c.password);
    expect(
      acceptedPasswords(['old'], c.username, new Date(now.getTime() + 60_000)),
    ).toBeUndefined();
  });

  it.each([
    '__proto__',
    'constructor',
    'toString',
    '',
    '123',
    '123:t',
    'x:t:u',
    '123::u',
    '123:t:',
    '1:t t:u',
  ])('refuses the username %j', (username) => {
    expect(acceptedPasswords(['s'], username, now)).toBeUndefined();
  });

  it('refuses to mint for a tenant with a colon', () => {
    expect(() =>
      mintTurnCredential({ secret: 's', tenantId: 'a:b', userId: 'u', now, ttlSeconds: 1 }),
    ).toThrow(RangeError);
  });

  it('builds iceServers: STUN, TURN over UDP and TCP, TURNS when configured', () => {
    const c = mintTurnCredential({ secret: 's', tenantId: 't', userId: 'u', now, ttlSeconds: 60 });
    expect(
      buildIceServers({ host: 'turn.example.org', port: 3478, tcp: true, tlsPort: 443 }, c),
    ).toEqual([
      { urls: ['stun:turn.example.org:3478'] },
      {
        urls: [
          'turn:turn.example.org:3478?transport=udp',
          'turn:turn.example.org:3478?transport=tcp',
          'turns:turn.example.org:443?transport=tcp',
        ],
        username: c.username,
        credential: c.password,
      },
    ]);
    expect(buildIceServers({ host: '2001:db8::1', port: 3478, tcp: false }, c)[1]!.urls).toEqual([
      'turn:[2001:db8::1]:3478?transport=udp',
    ]);
  });
});
