import { createSecretKey, randomBytes } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { ManualClock } from '@ledgerline/kernel';
import { AuthenticationError, type AuthenticationFailure } from '../identity.errors';
import { DEFAULT_JWT_SETTINGS, type ResolvedJwtSettings } from '../identity.config';
import {
  JwksTestServer,
  makeSigningKey,
  signToken,
  type TestSigningKey,
} from '../testing/jwks-test-server';
import { JwtAuthenticator } from './jwt-authenticator';

// Real tokens signed by jose, verified against a real JWKS endpoint over HTTP.

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'ledgerline-test';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const now = Math.floor(NOW.getTime() / 1000);

// Claim values a token may carry that must never show up in an error.
const EMAIL = 'patient.jane.doe@example.test';

function claims(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-123',
    tenant_id: 'tenant-a',
    roles: ['user'],
    email: EMAIL,
    iat: now - 10,
    exp: now + 300,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>, token?: string): Promise<AuthenticationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  const e = error as AuthenticationError;
  expect(e.code).toBe('unauthenticated');
  // No token text, no claim value, in the message or anything reachable from the error.
  const visible = `${e.message} ${JSON.stringify(e)} ${String(e.stack)}`;
  for (const secret of [EMAIL, 'user-123', 'tenant-a', ...(token ? token.split('.') : [])]) {
    if (secret) expect(visible).not.toContain(secret);
  }
  return e.reason;
}

describe('JwtAuthenticator against a real JWKS endpoint', () => {
  const jwks = new JwksTestServer();
  let es256: TestSigningKey;
  let rs256: TestSigningKey;
  let eddsa: TestSigningKey;
  const clock = new ManualClock(NOW);

  const settings = (overrides: Partial<ResolvedJwtSettings> = {}): ResolvedJwtSettings => ({
    ...DEFAULT_JWT_SETTINGS,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: jwks.url,
    ...overrides,
  });

  beforeAll(async () => {
    [es256, rs256, eddsa] = await Promise.all([
      makeSigningKey('ES256'),
      makeSigningKey('RS256'),
      makeSigningKey('EdDSA'),
    ]);
    await jwks.start();
  });

  beforeEach(() => {
    jwks.behaviour = 'serve';
    jwks.publish(es256, rs256, eddsa);
    clock.set(NOW);
  });

  afterAll(() => jwks.stop());

  it('accepts RS256, ES256 and EdDSA tokens and reads only the configured claims', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    for (const key of [rs256, es256, eddsa]) {
      const principal = await auth.authenticate(await signToken(key, claims()));
      expect(principal).toEqual({
        kind: 'user',
        id: 'user-123',
        tenantId: 'tenant-a',
        roles: ['user'],
        // exp plus the clock tolerance (item 18: one tolerance for every edge)
        tokenExpiresAt: new Date((now + 300 + DEFAULT_JWT_SETTINGS.clockToleranceSec) * 1000),
      });
    }
  });

  it('marks an agent by its kind claim', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const token = await signToken(
      es256,
      claims({ principal_kind: 'agent', roles: ['agent', 'auditor'], sub: 'assistant-7' }),
    );
    await expect(auth.authenticate(token)).resolves.toMatchObject({
      kind: 'agent',
      id: 'assistant-7',
      roles: ['agent', 'auditor'],
    });
  });

  // Issue 10, items 11 and 20, through a real signature check.
  it('refuses roles given as a string, and a reserved tenant', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const asString = await signToken(es256, claims({ roles: 'agent auditor' }));
    expect(await failure(auth.authenticate(asString), asString)).toBe('malformed');
    const reserved = await signToken(
      es256,
      claims({ tenant_id: 'ledgerline-deployment', roles: ['auditor'] }),
    );
    expect(await failure(auth.authenticate(reserved), reserved)).toBe('no_tenant');
  });

  it('reads tenant and roles from configured claim names', async () => {
    const auth = new JwtAuthenticator(
      settings({ tenantClaim: 'https://app.example/tenant', rolesClaim: 'realm_access.roles' }),
      clock,
    );
    const token = await signToken(
      es256,
      claims({
        tenant_id: undefined,
        roles: undefined,
        'https://app.example/tenant': 'tenant-b',
        realm_access: { roles: ['user', 'admin'] },
      }),
    );
    await expect(auth.authenticate(token)).resolves.toMatchObject({
      tenantId: 'tenant-b',
      roles: ['user', 'admin'],
    });
  });

  it('refuses a missing, malformed or oversized token', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    expect(await failure(auth.authenticate(undefined))).toBe('missing');
    expect(await failure(auth.authenticate(''))).toBe('missing');
    expect(await failure(auth.authenticate('not-a-jwt'))).toBe('malformed');
    expect(await failure(auth.authenticate('a.b.c'))).toBe('malformed');
    const huge = await signToken(es256, claims({ padding: 'x'.repeat(20_000) }));
    expect(await failure(auth.authenticate(huge), huge)).toBe('malformed');
  });

  it('refuses an expired token, allowing the configured clock tolerance', async () => {
    const auth = new JwtAuthenticator(settings({ clockToleranceSec: 30 }), clock);
    const token = await signToken(es256, claims({ exp: now - 20 }));
    await expect(auth.authenticate(token)).resolves.toMatchObject({ id: 'user-123' });
    clock.advance(11_000);
    expect(await failure(auth.authenticate(token), token)).toBe('expired');
  });

  it('refuses a token that is not valid yet, and one without exp', async () => {
    const auth = new JwtAuthenticator(settings({ clockToleranceSec: 0 }), clock);
    const early = await signToken(es256, claims({ nbf: now + 60 }));
    expect(await failure(auth.authenticate(early), early)).toBe('not_yet_valid');
    const forever = await signToken(es256, claims({ exp: undefined }));
    expect(await failure(auth.authenticate(forever), forever)).toBe('malformed');
    const anonymous = await signToken(es256, claims({ sub: undefined }));
    expect(await failure(auth.authenticate(anonymous), anonymous)).toBe('malformed');
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const aud = await signToken(es256, claims({ aud: 'some-other-api' }));
    expect(await failure(auth.authenticate(aud), aud)).toBe('wrong_audience');
    const iss = await signToken(es256, claims({ iss: 'https://evil.example.test/' }));
    expect(await failure(auth.authenticate(iss), iss)).toBe('wrong_issuer');
  });

  it('refuses a token without a tenant, and a token from another tenant', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const none = await signToken(es256, claims({ tenant_id: undefined }));
    expect(await failure(auth.authenticate(none), none)).toBe('no_tenant');
    const numeric = await signToken(es256, claims({ tenant_id: 42 }));
    expect(await failure(auth.authenticate(numeric), numeric)).toBe('no_tenant');
    const other = await signToken(es256, claims({ tenant_id: 'tenant-b' }));
    expect(await failure(auth.authenticate(other, { tenantId: 'tenant-a' }), other)).toBe(
      'wrong_tenant',
    );
    await expect(auth.authenticate(other, { tenantId: 'tenant-b' })).resolves.toMatchObject({
      tenantId: 'tenant-b',
    });
  });

  it('refuses a token that claims to be a service, or carries roles of the wrong shape', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const service = await signToken(es256, claims({ principal_kind: 'service' }));
    expect(await failure(auth.authenticate(service), service)).toBe('malformed');
    const roles = await signToken(es256, claims({ roles: { admin: true } }));
    expect(await failure(auth.authenticate(roles), roles)).toBe('malformed');
  });

  it('refuses alg none and HS256, even with the public key as the HMAC secret', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
    expect(await failure(auth.authenticate(none), none)).toBe('bad_signature');

    const hs = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: es256.kid })
      .sign(createSecretKey(randomBytes(32)));
    expect(await failure(auth.authenticate(hs), hs)).toBe('bad_signature');

    // Key confusion: HMAC keyed with the published public key, which everybody can download.
    const confused = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: rs256.kid })
      .sign(createSecretKey(Buffer.from(JSON.stringify(rs256.publicJwk))));
    expect(await failure(auth.authenticate(confused), confused)).toBe('bad_signature');
  });

  it('refuses a tampered token, and one signed by a key the JWKS does not publish', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const token = await signToken(es256, claims());
    const [header, , signature] = token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify(claims({ tenant_id: 'tenant-b', roles: ['admin'] })),
    ).toString('base64url');
    const tampered = `${header}.${forgedPayload}.${signature}`;
    expect(await failure(auth.authenticate(tampered), tampered)).toBe('bad_signature');

    // Same kid as a published key, but another private key.
    const impostor = { ...(await makeSigningKey('ES256')), kid: es256.kid };
    const forged = await signToken(impostor, claims());
    expect(await failure(auth.authenticate(forged), forged)).toBe('bad_signature');

    // A kid nobody published: refetched once (rotation), still unknown.
    const stranger = await signToken(await makeSigningKey('ES256'), claims());
    expect(await failure(auth.authenticate(stranger), stranger)).toBe('bad_signature');
  });

  it('finds the signing key of a token without kid among several candidates', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const second = await makeSigningKey('ES256');
    jwks.publish(es256, second);
    const token = await signToken(second, claims(), { kid: undefined });
    await expect(auth.authenticate(token)).resolves.toMatchObject({ id: 'user-123' });
    const stranger = await signToken(await makeSigningKey('ES256'), claims(), { kid: undefined });
    expect(await failure(auth.authenticate(stranger), stranger)).toBe('bad_signature');
  });

  it('picks up a rotated key by refetching the JWKS for an unknown kid', async () => {
    const auth = new JwtAuthenticator(settings({ jwksCooldownMs: 0 }), clock);
    await auth.authenticate(await signToken(es256, claims()));
    const rotated = await makeSigningKey('ES256');
    jwks.publish(es256, rotated);
    const before = jwks.fetches;
    await expect(auth.authenticate(await signToken(rotated, claims()))).resolves.toMatchObject({
      id: 'user-123',
    });
    expect(jwks.fetches).toBe(before + 1);
  });

  it('caches keys: many verifications, one fetch', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const before = jwks.fetches;
    const token = await signToken(es256, claims());
    await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(token)));
    expect(jwks.fetches).toBe(before + 1);
  });

  describe('while the JWKS endpoint is down', () => {
    afterEach(async () => {
      jwks.behaviour = 'serve';
      await jwks.start(); // back on the same port for the next test
    });

    it('keeps verifying with cached keys; a new kid is keys_unavailable, and retryable', async () => {
      const auth = new JwtAuthenticator(settings({ jwksCooldownMs: 0 }), clock);
      const token = await signToken(es256, claims());
      await auth.authenticate(token);
      await jwks.stop();

      await expect(auth.authenticate(token)).resolves.toMatchObject({ id: 'user-123' });
      await expect(
        auth.authenticate(await signToken(rs256, claims({ sub: 'user-456' }))),
      ).resolves.toMatchObject({ id: 'user-456' });

      const newKid = await signToken(await makeSigningKey('ES256'), claims());
      const error = await auth.authenticate(newKid).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).reason).toBe('keys_unavailable');
      expect((error as AuthenticationError).retryable).toBe(true);
      expect(await failure(auth.authenticate(newKid), newKid)).toBe('keys_unavailable');
    });

    it('stops trusting cached keys once they are older than the cache max age', async () => {
      const auth = new JwtAuthenticator(settings({ jwksCacheMaxAgeMs: 200 }), clock);
      const token = await signToken(es256, claims());
      await auth.authenticate(token);
      await jwks.stop();
      await expect(auth.authenticate(token)).resolves.toMatchObject({ id: 'user-123' });
      await new Promise((r) => setTimeout(r, 300));
      expect(await failure(auth.authenticate(token), token)).toBe('keys_unavailable');
    });

    it('is keys_unavailable when nothing was ever fetched', async () => {
      const auth = new JwtAuthenticator(settings(), clock);
      await jwks.stop();
      const token = await signToken(es256, claims());
      expect(await failure(auth.authenticate(token), token)).toBe('keys_unavailable');
    });
  });

  it('is keys_unavailable when the endpoint answers 500, invalid JSON, or not in time', async () => {
    const token = await signToken(es256, claims());
    for (const behaviour of ['error', 'garbage', 'hang'] as const) {
      jwks.behaviour = behaviour;
      const auth = new JwtAuthenticator(settings({ jwksTimeoutMs: 200 }), clock);
      const started = Date.now();
      expect(await failure(auth.authenticate(token), token)).toBe('keys_unavailable');
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });

  it('keeps no claim error as a cause (jose attaches the whole payload to those)', async () => {
    const auth = new JwtAuthenticator(settings(), clock);
    const token = await signToken(es256, claims({ aud: 'elsewhere' }));
    const error = (await auth.authenticate(token).catch((e: unknown) => e)) as Error;
    expect(error.cause).toBeUndefined();
    expect(Object.keys(error)).not.toContain('payload');
  });
});
