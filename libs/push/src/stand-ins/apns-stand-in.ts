import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RecordedPushes } from './recorded-pushes';

/** One request as the stand-in saw it. */
export interface ApnsReceived {
  readonly token: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly status: number;
  readonly reason?: string;
  /** `performance.now()` when the request had arrived whole (for latency measurements). */
  readonly at: number;
}

/** An answer APNs documents: a status and, for an error, its reason (`BadDeviceToken`…). */
export type ApnsAnswer = { readonly status: number; readonly reason?: string } | 'hang';

/**
 * A local HTTP/2 server answering as APNs does (Apple, "Sending notification requests to APNs" and
 * "Handling notification responses from APNs"): `POST /3/device/<token>` over TLS with ALPN h2;
 * the provider token (an ES256 JWT with `kid`, `iss` and `iat`) verified against the team's key;
 * `apns-topic` required; a payload over 4 KB refused; 200 with `apns-id` on success, otherwise the
 * status with a JSON `{ "reason": … }` body (410 with a `timestamp`). Tokens can be scripted to
 * answer any documented error, or never to answer (a timeout).
 */
export class ApnsStandIn {
  readonly received = new RecordedPushes<ApnsReceived>();
  /** Requests held unanswered (see `hold`); a held request was never delivered. */
  readonly held = new RecordedPushes<{ readonly token: string; readonly apnsId: string }>();
  private holding = false;
  private readonly scripted = new Map<string, ApnsAnswer[]>();
  private readonly teamKey: KeyObject;
  private readonly hanging = new Set<ServerHttp2Stream>();

  private constructor(
    private readonly server: Http2SecureServer,
    readonly port: number,
    teamPublicKeyPem: string,
    private readonly keyId: string,
    private readonly teamId: string,
  ) {
    this.teamKey = createPublicKey(teamPublicKeyPem);
  }

  static async start(options: {
    readonly tls: { readonly key: string; readonly cert: string };
    /** The public half of the team's .p8 key, and its ids, to verify provider tokens. */
    readonly teamPublicKey: string;
    readonly keyId: string;
    readonly teamId: string;
  }): Promise<ApnsStandIn> {
    const server = createSecureServer({
      key: options.tls.key,
      cert: options.tls.cert,
      allowHTTP1: false,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const standIn = new ApnsStandIn(
      server,
      (server.address() as AddressInfo).port,
      options.teamPublicKey,
      options.keyId,
      options.teamId,
    );
    server.on('stream', (stream, headers) => standIn.onStream(stream, headers));
    // A client that dies (the crash tests SIGKILL it) resets its connection: not the stand-in's error.
    server.on('session', (session) => session.on('error', () => undefined));
    return standIn;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next requests for `token` get these answers, in order (then 200 again). */
  script(token: string, ...answers: ApnsAnswer[]): void {
    this.scripted.set(token, [...(this.scripted.get(token) ?? []), ...answers]);
  }

  /**
   * From now on every request is held without an answer, as if the push were still in flight:
   * for crash tests (the sender dies with requests outstanding). `release` ends it for new ones.
   */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
  }

  async stop(): Promise<void> {
    for (const stream of this.hanging) stream.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onStream(
    stream: ServerHttp2Stream,
    raw: Record<string, string | string[] | undefined>,
  ): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') headers[k] = v;
    let body = '';
    stream.on('error', () => undefined);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => {
      const path = headers[':path'] ?? '';
      const match = /^\/3\/device\/([^/?]+)$/.exec(path);
      const token = match?.[1] ?? '';
      const answer = this.holding ? 'hang' : this.answerFor(headers, token, body);
      if (this.holding) this.held.add({ token, apnsId: headers['apns-id'] ?? '' });
      if (answer === 'hang') {
        this.hanging.add(stream);
        stream.on('close', () => this.hanging.delete(stream));
        return;
      }
      this.received.add({
        token,
        headers,
        body,
        at: performance.now(),
        status: answer.status,
        ...(answer.reason ? { reason: answer.reason } : {}),
      });
      if (stream.destroyed) return;
      if (answer.status === 200) {
        stream.respond({
          ':status': 200,
          'apns-id': headers['apns-id'] ?? '00000000-0000-0000-0000-000000000000',
        });
        stream.end();
        return;
      }
      stream.respond({
        ':status': answer.status,
        'content-type': 'application/json',
        'apns-id': headers['apns-id'] ?? '',
      });
      stream.end(
        JSON.stringify(
          answer.status === 410
            ? { reason: answer.reason ?? 'Unregistered', timestamp: Date.now() }
            : { reason: answer.reason },
        ),
      );
    });
  }

  private answerFor(headers: Record<string, string>, token: string, body: string): ApnsAnswer {
    if (headers[':method'] !== 'POST') return { status: 405, reason: 'MethodNotAllowed' };
    if (!/^\/3\/device\//.test(headers[':path'] ?? '')) return { status: 404, reason: 'BadPath' };
    const auth = headers['authorization'];
    if (!auth) return { status: 403, reason: 'MissingProviderToken' };
    if (!this.validProviderToken(auth)) return { status: 403, reason: 'InvalidProviderToken' };
    if (!headers['apns-topic']) return { status: 400, reason: 'MissingTopic' };
    const collapseId = headers['apns-collapse-id'];
    if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64)
      return { status: 400, reason: 'BadCollapseId' };
    if (Buffer.byteLength(body) > 4096) return { status: 413, reason: 'PayloadTooLarge' };
    try {
      JSON.parse(body);
    } catch {
      return { status: 400, reason: 'PayloadEmpty' };
    }
    const queue = this.scripted.get(token);
    const next = queue?.shift();
    if (next) return next;
    if (!/^[0-9a-f]{64,200}$/.test(token)) return { status: 400, reason: 'BadDeviceToken' };
    return { status: 200 };
  }

  private validProviderToken(authorization: string): boolean {
    const jwt = /^bearer (.+)$/i.exec(authorization)?.[1];
    const parts = jwt?.split('.');
    if (!parts || parts.length !== 3) return false;
    try {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      if (header['alg'] !== 'ES256' || header['kid'] !== this.keyId) return false;
      if (claims['iss'] !== this.teamId || typeof claims['iat'] !== 'number') return false;
      return verify(
        'sha256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        { key: this.teamKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(parts[2]!, 'base64url'),
      );
    } catch {
      return false;
    }
  }
}
