import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';
import { z } from 'zod';
import { systemClock, type Clock } from '@ledgerline/kernel';
import { DevTokensForbiddenError } from '../identity.errors';
import type { JwtSettings, ResolvedJwtSettings } from '../identity.config';

export interface DevTokenIssuerOptions {
  /** NODE_ENV of the process; `production` makes the issuer impossible to start. */
  readonly environment: 'development' | 'production' | 'test';
  /** The claim names and audience the server's JWT authenticator expects. */
  readonly jwt: JwtSettings;
  /** Port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number;
  readonly clock?: Clock;
}

export interface DevTokenRequest {
  readonly tenantId: string;
  readonly userId: string;
  readonly roles?: readonly string[];
  readonly kind?: 'user' | 'agent';
  /** Lifetime; one hour unless given. */
  readonly ttlSec?: number;
}

const DEV_AUDIENCE = 'ledgerline-dev';
const MAX_BODY = 4096;

const requestSchema = z.strictObject({
  tenantId: z.string().min(1).max(128),
  userId: z.string().min(1).max(255),
  roles: z.array(z.string().min(1).max(64)).max(64).optional(),
  kind: z.enum(['user', 'agent']).optional(),
  ttlSec: z.number().int().min(1).max(86_400).optional(),
});

function refuseInProduction(environment: string): void {
  // The configured environment decides; the process's own NODE_ENV is checked as well, so a
  // mis-wired configuration object still cannot put a token mint into a production process.
  if (environment === 'production' || process.env['NODE_ENV'] === 'production') {
    throw new DevTokensForbiddenError();
  }
}

/**
 * A development-only identity provider: an Ed25519 key pair made at start, its JWKS served on
 * 127.0.0.1, and tokens signed for any tenant, user and roles, so a newcomer can talk to the server
 * without setting up an identity provider. The server's JwtAuthenticator trusts it through the
 * same JWKS path as a real provider (see `jwtSettings`).
 *
 * HTTP: `GET /.well-known/jwks.json`; `POST /token` with `{"tenantId","userId","roles"?,"kind"?,
 * "ttlSec"?}` answers `{"token","expiresAt"}`.
 *
 * Construction throws DevTokensForbiddenError when NODE_ENV=production.
 */
export class DevTokenIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  private readonly kid = randomUUID();
  private readonly clock: Clock;

  private constructor(
    private readonly options: DevTokenIssuerOptions,
    private readonly server: Server,
    private readonly privateKey: KeyLike,
    private readonly publicJwk: JWK,
  ) {
    refuseInProduction(options.environment);
    this.clock = options.clock ?? systemClock;
    const { port } = server.address() as AddressInfo;
    this.issuer = `http://127.0.0.1:${port}`;
    this.jwksUrl = `${this.issuer}/.well-known/jwks.json`;
  }

  static async start(options: DevTokenIssuerOptions): Promise<DevTokenIssuer> {
    refuseInProduction(options.environment);
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    let issuer: DevTokenIssuer;
    try {
      issuer = new DevTokenIssuer(options, server, privateKey, await exportJWK(publicKey));
    } catch (error) {
      server.close();
      throw error;
    }
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      issuer.handle(req, res).catch(() => reply(res, 500, { error: 'internal' }));
    });
    return issuer;
  }

  /** JWT settings that trust this issuer: its issuer and JWKS URL, with the given claim names. */
  jwtSettings(): ResolvedJwtSettings {
    return {
      ...this.options.jwt,
      issuer: this.issuer,
      audience: this.audience,
      jwksUrl: this.jwksUrl,
    };
  }

  async issue(request: DevTokenRequest): Promise<{ token: string; expiresAt: Date }> {
    const { jwt } = this.options;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const exp = now + (request.ttlSec ?? 3600);
    const claims: Record<string, unknown> = {
      [jwt.tenantClaim]: request.tenantId,
      [jwt.rolesClaim]: [...(request.roles ?? [])],
    };
    if (request.kind === 'agent') claims[jwt.kindClaim] = 'agent';
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(request.userId)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private get audience(): string {
    return this.options.jwt.audience ?? DEV_AUDIENCE;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/.well-known/jwks.json') {
      return reply(res, 200, {
        keys: [{ ...this.publicJwk, kid: this.kid, alg: 'EdDSA', use: 'sig' }],
      });
    }
    if (req.method === 'POST' && path === '/token') {
      const body = await readJson(req);
      const parsed = requestSchema.safeParse(body);
      if (!parsed.success) {
        return reply(res, 400, {
          error: 'invalid_input',
          fields: parsed.error.issues.map((i) => i.path.join('.') || '(body)'),
        });
      }
      const { token, expiresAt } = await this.issue(parsed.data);
      return reply(res, 200, { token, expiresAt: expiresAt.toISOString() });
    }
    return reply(res, 404, { error: 'not_found' });
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
