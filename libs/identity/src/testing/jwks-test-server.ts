import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type KeyLike } from 'jose';

/** A signing key of the test identity provider, with the `kid` its JWKS publishes it under. */
export interface TestSigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256' | 'EdDSA';
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK;
}

export async function makeSigningKey(
  alg: TestSigningKey['alg'] = 'ES256',
  kid: string = randomUUID(),
): Promise<TestSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(
    alg,
    alg === 'EdDSA' ? { crv: 'Ed25519' } : {},
  );
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export async function signToken(
  key: TestSigningKey,
  payload: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

type Behaviour = 'serve' | 'error' | 'garbage' | 'hang';

/**
 * A real identity provider's JWKS endpoint on 127.0.0.1, for integration tests: it publishes the
 * keys it is given, counts fetches, can misbehave (HTTP 500, invalid JSON, never answering) and
 * can be stopped and restarted on the same port, to prove what the verifier does meanwhile.
 */
export class JwksTestServer {
  fetches = 0;
  behaviour: Behaviour = 'serve';
  private keys: JWK[] = [];
  private server: Server | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  publish(...keys: TestSigningKey[]): void {
    this.keys = keys.map((k) => k.publicJwk);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.fetches += 1;
      switch (this.behaviour) {
        case 'hang':
          return; // never answers; the client's timeout must fire
        case 'error':
          res.writeHead(500).end();
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [');
          return;
        case 'serve':
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ keys: this.keys }));
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
