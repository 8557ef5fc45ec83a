import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type KeyLike } from 'jose';

const AUDIENCE = 'ledgerline-bench';
/** Longer than any bench run at any BENCH_SCALE: a token must not expire mid-measurement (4401). */
const TOKEN_TTL_SEC = 6 * 3600;

/**
 * The host app's identity provider, as the realtime bench plays it: an Ed25519 key pair, its JWKS
 * on 127.0.0.1, tokens minted here. The server trusts it through LEDGERLINE_JWT_* exactly as it
 * would a real provider, and the bench mints thousands of tokens in well under a second instead
 * of asking the server's development issuer once per user.
 */
export class BenchIdentityProvider {
  private constructor(
    private readonly server: Server,
    private readonly issuer: string,
    private readonly kid: string,
    private readonly privateKey: KeyLike,
  ) {}

  static async start(): Promise<BenchIdentityProvider> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const kid = randomUUID();
    const jwks = JSON.stringify({
      keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }],
    });
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new BenchIdentityProvider(server, `http://127.0.0.1:${port}`, kid, privateKey);
  }

  /** The server configuration that trusts this provider (and turns development tokens off). */
  serverEnv(): Record<string, string> {
    return {
      LEDGERLINE_JWT_ISSUER: this.issuer,
      LEDGERLINE_JWT_AUDIENCE: AUDIENCE,
      LEDGERLINE_JWT_JWKS_URL: `${this.issuer}/.well-known/jwks.json`,
    };
  }

  /** A user's access token in `tenantId`, with the `user` role. */
  token(tenantId: string, userId: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ tenant_id: tenantId, roles: ['user'] })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setSubject(userId)
      .setIssuedAt(now)
      .setExpirationTime(now + TOKEN_TTL_SEC)
      .sign(this.privateKey);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
