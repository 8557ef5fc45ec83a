import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RecordedPushes } from './recorded-pushes';

export interface FcmReceived {
  readonly token: string;
  readonly body: string;
  readonly status: number;
  readonly errorCode?: string;
}

/** FCM v1 error codes (Firebase, "FCM error codes") and the HTTP status each comes with. */
export const FCM_ERRORS = {
  UNREGISTERED: { status: 404, canonical: 'NOT_FOUND' },
  INVALID_ARGUMENT: { status: 400, canonical: 'INVALID_ARGUMENT' },
  SENDER_ID_MISMATCH: { status: 403, canonical: 'PERMISSION_DENIED' },
  QUOTA_EXCEEDED: { status: 429, canonical: 'RESOURCE_EXHAUSTED' },
  UNAVAILABLE: { status: 503, canonical: 'UNAVAILABLE' },
  INTERNAL: { status: 500, canonical: 'INTERNAL' },
  THIRD_PARTY_AUTH_ERROR: { status: 401, canonical: 'UNAUTHENTICATED' },
} as const;

export type FcmAnswer = keyof typeof FCM_ERRORS | 'OK' | 'hang';

/**
 * A local HTTPS endpoint answering as Google does for FCM HTTP v1, both hosts on one port (told
 * apart by the Host header):
 * - `oauth2.googleapis.com` `POST /token`: the JWT-bearer grant (RFC 7523) of a service account,
 *   its RS256 signature verified against the account's key, answered with an access token;
 * - `fcm.googleapis.com` `POST /v1/projects/<project>/messages:send`: needs that access token;
 *   answers `{ name }`, or the v1 error body (`error.status`, `details[].errorCode`) for a token
 *   scripted to fail; a token scripted `hang` is never answered.
 */
export class FcmStandIn {
  readonly received = new RecordedPushes<FcmReceived>();
  readonly tokenExchanges: string[] = [];
  private readonly scripted = new Map<string, FcmAnswer[]>();
  private readonly issued = new Set<string>();
  private readonly accountKey: KeyObject;
  private readonly hanging = new Set<ServerResponse>();
  private sent = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    accountPublicKeyPem: string,
    private readonly clientEmail: string,
    private readonly projectId: string,
  ) {
    this.accountKey = createPublicKey(accountPublicKeyPem);
  }

  static async start(options: {
    readonly tls: { readonly key: string; readonly cert: string };
    readonly accountPublicKey: string;
    readonly clientEmail: string;
    readonly projectId: string;
  }): Promise<FcmStandIn> {
    const server = createServer({ key: options.tls.key, cert: options.tls.cert });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const standIn = new FcmStandIn(
      server,
      (server.address() as AddressInfo).port,
      options.accountPublicKey,
      options.clientEmail,
      options.projectId,
    );
    server.on('request', (req, res) => standIn.onRequest(req, res));
    return standIn;
  }

  script(token: string, ...answers: FcmAnswer[]): void {
    this.scripted.set(token, [...(this.scripted.get(token) ?? []), ...answers]);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 1_000_000) req.destroy();
    });
    req.on('end', () => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (host === 'oauth2.googleapis.com' && req.method === 'POST' && req.url === '/token') {
        return this.tokenExchange(body, res);
      }
      const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
      if (host === 'fcm.googleapis.com' && req.method === 'POST' && send) {
        return this.messagesSend(send[1]!, req, body, res);
      }
      json(res, 404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
    });
  }

  private tokenExchange(body: string, res: ServerResponse): void {
    const form = new URLSearchParams(body);
    const assertion = form.get('assertion') ?? '';
    this.tokenExchanges.push(form.get('grant_type') ?? '');
    if (
      form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' ||
      !this.validAssertion(assertion)
    ) {
      return json(res, 400, {
        error: 'invalid_grant',
        error_description: 'Invalid JWT Signature.',
      });
    }
    const accessToken = `ya29.${randomBytes(24).toString('base64url')}`;
    this.issued.add(accessToken);
    json(res, 200, { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' });
  }

  private messagesSend(
    project: string,
    req: IncomingMessage,
    body: string,
    res: ServerResponse,
  ): void {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !this.issued.has(bearer)) {
      return json(res, 401, {
        error: {
          code: 401,
          message: 'Request had invalid authentication credentials.',
          status: 'UNAUTHENTICATED',
        },
      });
    }
    if (project !== this.projectId) {
      return json(res, 403, {
        error: { code: 403, message: 'Permission denied.', status: 'PERMISSION_DENIED' },
      });
    }
    let token: string;
    try {
      const parsed = JSON.parse(body) as { message?: { token?: unknown } };
      token = typeof parsed.message?.token === 'string' ? parsed.message.token : '';
    } catch {
      token = '';
    }
    const answer: FcmAnswer =
      token === '' ? 'INVALID_ARGUMENT' : (this.scripted.get(token)?.shift() ?? 'OK');
    if (answer === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (answer === 'OK') {
      this.received.add({ token, body, status: 200 });
      this.sent += 1;
      return json(res, 200, { name: `projects/${project}/messages/${this.sent}` });
    }
    const error = FCM_ERRORS[answer];
    this.received.add({ token, body, status: error.status, errorCode: answer });
    json(res, error.status, {
      error: {
        code: error.status,
        message: `stand-in: ${answer}`,
        status: error.canonical,
        details: [
          { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: answer },
        ],
      },
    });
  }

  private validAssertion(assertion: string): boolean {
    const parts = assertion.split('.');
    if (parts.length !== 3) return false;
    try {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      if (header['alg'] !== 'RS256' || claims['iss'] !== this.clientEmail) return false;
      if (
        typeof claims['scope'] !== 'string' ||
        !/firebase\.messaging|cloud-platform/.test(claims['scope'])
      ) {
        return false;
      }
      return verify(
        'sha256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        this.accountKey,
        Buffer.from(parts[2]!, 'base64url'),
      );
    } catch {
      return false;
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}
