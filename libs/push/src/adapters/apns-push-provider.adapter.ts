import * as apn from '@parse/node-apn';
import type { PushOutcome, PushRequest } from '../domain/push-payload';
import type { PushProvider } from '../application/push-provider.port';
import { withTimeout } from './with-timeout';

export interface ApnsSettings {
  /** Token-based auth: the .p8 signing key (PEM), its key id and the team id. */
  readonly key: string;
  readonly keyId: string;
  readonly teamId: string;
  /** Another host than Apple's (a stand-in); both environments then go there. */
  readonly address?: { readonly host: string; readonly port: number };
  /** CA certificates (PEM) to trust beyond Node's, for a stand-in. */
  readonly ca?: readonly string[];
  readonly timeoutMs: number;
}

/** APNs reasons (Apple, "Handling notification responses from APNs") that mean the token is dead. */
const DEAD_TOKEN_REASONS = new Set([
  'Unregistered',
  'BadDeviceToken',
  'DeviceTokenNotForTopic',
  'ExpiredToken',
]);
/** Reasons a later attempt may succeed: throttling, Apple's side, our auth token being renewed. */
const RETRY_REASONS = new Set([
  'TooManyRequests',
  'TooManyProviderTokenUpdates',
  'InternalServerError',
  'ServiceUnavailable',
  'Shutdown',
  'ExpiredProviderToken',
  'IdleTimeout',
]);

/**
 * APNs over HTTP/2 with token-based authentication (a JWT signed with the team's key), through
 * `@parse/node-apn`. One connection per environment (production, sandbox), kept open.
 *
 * Every push is an alert with `mutable-content: 1` whose text is the rendered template, and
 * whose custom data is `ll: { kind, conversationId, count, id }`: the app's notification service
 * extension fetches the content and replaces the text. `apns-id` and `apns-collapse-id` are the
 * idempotency key, so a resend after a crash replaces the first on the phone.
 *
 * node-apn's own resends are off (`connectionRetryLimit: 0`): the outbox retries, with back-off.
 */
export class ApnsPushProvider implements PushProvider {
  readonly name = 'apns';
  private readonly providers: Record<'production' | 'sandbox', apn.Provider>;

  constructor(private readonly settings: ApnsSettings) {
    const common = {
      token: { key: settings.key, keyId: settings.keyId, teamId: settings.teamId },
      requestTimeout: settings.timeoutMs,
      connectionRetryLimit: 0,
      ...(settings.address ? { address: settings.address.host, port: settings.address.port } : {}),
      ...(settings.ca ? { ca: [...settings.ca] } : {}),
    };
    this.providers = {
      production: new apn.Provider({ ...common, production: true }),
      sandbox: new apn.Provider({ ...common, production: false }),
    };
  }

  async send(request: PushRequest): Promise<PushOutcome> {
    const note = new apn.Notification();
    note.topic = request.appId;
    note.id = request.idempotencyKey;
    note.collapseId = request.idempotencyKey;
    note.pushType = 'alert';
    note.priority = 10;
    note.mutableContent = true;
    note.threadId = request.payload.conversationId;
    note.alert = { title: request.alert.title, body: request.alert.body };
    note.payload = {
      ll: {
        kind: request.payload.kind,
        conversationId: request.payload.conversationId,
        count: request.payload.count,
        id: request.idempotencyKey,
      },
    };
    let result: apn.Responses<apn.ResponseSent, apn.ResponseFailure>;
    try {
      result = await withTimeout(
        this.providers[request.environment].send(note, request.token),
        this.settings.timeoutMs + 1_000,
      );
    } catch {
      return { status: 'retry', reason: 'timeout' };
    }
    if (result.sent.length > 0) return { status: 'sent' };
    const [failure] = result.failed;
    return outcomeOf(failure);
  }

  async close(): Promise<void> {
    await Promise.all([this.providers.production.shutdown(), this.providers.sandbox.shutdown()]);
  }
}

/** Maps an APNs failure (status and `{ reason }` body, or a transport error) to an outcome. */
export function outcomeOf(failure: apn.ResponseFailure | undefined): PushOutcome {
  const status = failure?.status === undefined ? undefined : Number(failure.status);
  const reason = (failure?.response as { reason?: unknown } | undefined)?.reason;
  const code = typeof reason === 'string' && /^[A-Za-z]{1,64}$/.test(reason) ? reason : undefined;
  if (status === undefined) return { status: 'retry', reason: 'transport_error' };
  if (status === 410 || (code !== undefined && DEAD_TOKEN_REASONS.has(code))) {
    return { status: 'dead_token', reason: code ?? `http_${status}` };
  }
  if (status === 429 || status >= 500 || (code !== undefined && RETRY_REASONS.has(code))) {
    return { status: 'retry', reason: code ?? `http_${status}` };
  }
  return { status: 'rejected', reason: code ?? `http_${status}` };
}
