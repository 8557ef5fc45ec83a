import { DEFAULT_JWT_SETTINGS } from '../identity.config';
import { AuthenticationError, DevTokensForbiddenError } from '../identity.errors';
import { JwtAuthenticator } from '../authentication/jwt-authenticator';
import { DevTokenIssuer } from './dev-token-issuer';

const jwt = { ...DEFAULT_JWT_SETTINGS, audience: 'ledgerline-local' };

describe('DevTokenIssuer', () => {
  let issuer: DevTokenIssuer;

  beforeAll(async () => {
    issuer = await DevTokenIssuer.start({ environment: 'development', jwt });
  });

  afterAll(() => issuer.close());

  it('cannot be started in production, whichever way production is declared', async () => {
    await expect(DevTokenIssuer.start({ environment: 'production', jwt })).rejects.toBeInstanceOf(
      DevTokensForbiddenError,
    );
    const previous = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'production';
    try {
      await expect(DevTokenIssuer.start({ environment: 'development', jwt })).rejects.toMatchObject(
        { code: 'dev_tokens_forbidden' },
      );
    } finally {
      process.env['NODE_ENV'] = previous;
    }
  });

  it('signs tokens the JWT authenticator accepts through the served JWKS', async () => {
    const auth = new JwtAuthenticator(issuer.jwtSettings());
    const { token, expiresAt } = await issuer.issue({
      tenantId: 'tenant-dev',
      userId: 'alice',
      roles: ['user'],
    });
    const principal = await auth.authenticate(token);
    expect(principal).toEqual({
      kind: 'user',
      id: 'alice',
      tenantId: 'tenant-dev',
      roles: ['user'],
      // `exp` plus the clock tolerance: when every edge stops accepting it.
      tokenExpiresAt: new Date(expiresAt.getTime() + issuer.jwtSettings().clockToleranceSec * 1000),
    });
    const agent = await issuer.issue({ tenantId: 'tenant-dev', userId: 'bot', kind: 'agent' });
    await expect(auth.authenticate(agent.token)).resolves.toMatchObject({
      kind: 'agent',
      roles: [],
    });
  });

  it('hands out tokens over HTTP on 127.0.0.1', async () => {
    const auth = new JwtAuthenticator(issuer.jwtSettings());
    const res = await fetch(`${issuer.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId: 't-1', userId: 'bob', roles: ['user', 'auditor'] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; expiresAt: string };
    await expect(auth.authenticate(body.token)).resolves.toMatchObject({
      id: 'bob',
      tenantId: 't-1',
      roles: ['user', 'auditor'],
    });

    const bad = await fetch(`${issuer.issuer}/token`, {
      method: 'POST',
      body: JSON.stringify({ tenantId: 't-1' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_input', fields: ['userId'] });
    expect((await fetch(`${issuer.issuer}/nope`)).status).toBe(404);
  });

  it('is trusted only by an authenticator configured for it', async () => {
    const other = await DevTokenIssuer.start({ environment: 'test', jwt });
    try {
      const { token } = await other.issue({ tenantId: 't-1', userId: 'mallory' });
      const auth = new JwtAuthenticator(issuer.jwtSettings());
      const error = await auth.authenticate(token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      // Its key is not in the trusted JWKS: refused on the signature, before any claim is read.
      expect((error as AuthenticationError).reason).toBe('bad_signature');
    } finally {
      await other.close();
    }
  });
});
