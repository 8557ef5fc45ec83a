import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect, type ConnectionOptions } from 'node:tls';
import { cert, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';
import { ConfigError } from '@ledgerline/kernel';
import type { PushOutcome, PushRequest } from '../domain/push-payload';
import type { PushProvider } from '../application/push-provider.port';
import { withTimeout } from './with-timeout';

export interface FcmSettings {
  /**
   * The service account JSON file (`project_id`, `client_email`, `private_key`). A path rather
   * than the parsed object: firebase-admin hands its HTTP agent to the token exchange only for a
   * credential read from a file.
   */
  readonly serviceAccountFile: string;
  /**
   * Another place (a stand-in) to reach Google at: every connection the SDK opens, to FCM
   * (`fcm.googleapis.com`) and to the OAuth token exchange (`oauth2.googleapis.com`), goes to this
   * host and port instead, with TLS still verified against the original host name.
   */
  readonly address?: { readonly host: string; readonly port: number };
  readonly ca?: readonly string[];
  readonly timeoutMs: number;
}

/** FCM error codes (firebase-admin's, without the `messaging/` prefix) meaning the token is dead for the app. */
const DEAD_TOKEN_CODES = new Set([
  'registration-token-not-registered',
  'invalid-registration-token',
  'mismatched-credential',
]);
/** Codes a later attempt may succeed on. */
const RETRY_CODES = new Set([
  'message-rate-exceeded',
  'device-message-rate-exceeded',
  'topics-message-rate-exceeded',
  'quota-exceeded',
  'server-unavailable',
  'internal-error',
  'unknown-error',
  'third-party-auth-error',
  'invalid-credential',
  'network-error',
  'network-timeout',
]);

/**
 * FCM HTTP v1 through `firebase-admin`, authenticated with a service account (the SDK exchanges a
 * signed JWT for an OAuth access token and renews it).
 *
 * Every push is a data message (no `notification` block): the app receives `kind`,
 * `conversationId`, `count` and the idempotency key, fetches the content and shows it itself. The
 * idempotency key is also the Android `collapse_key`, so a resend replaces the first.
 */
export class FcmPushProvider implements PushProvider {
  readonly name = 'fcm';
  private readonly app: App;
  private readonly messaging: Messaging;
  private readonly agent: Agent | undefined;

  constructor(private readonly settings: FcmSettings) {
    this.agent = settings.address ? redirectingAgent(settings.address, settings.ca) : undefined;
    const account = JSON.parse(readFileSync(settings.serviceAccountFile, 'utf8')) as {
      project_id?: unknown;
    };
    if (typeof account.project_id !== 'string') {
      throw new ConfigError([
        {
          variable: settings.serviceAccountFile,
          problem: 'a service account JSON needs project_id',
        },
      ]);
    }
    this.app = initializeApp(
      {
        credential: cert(settings.serviceAccountFile, this.agent),
        projectId: account.project_id,
        ...(this.agent ? { httpAgent: this.agent } : {}),
      },
      `ledgerline-push-${Math.random().toString(36).slice(2)}`,
    );
    this.messaging = getMessaging(this.app);
  }

  async send(request: PushRequest): Promise<PushOutcome> {
    try {
      await withTimeout(
        this.messaging.send({
          token: request.token,
          data: {
            kind: request.payload.kind,
            conversationId: request.payload.conversationId,
            count: String(request.payload.count),
            idempotencyKey: request.idempotencyKey,
            title: request.alert.title,
            body: request.alert.body,
          },
          android: { priority: 'high', collapseKey: request.idempotencyKey },
        }),
        this.settings.timeoutMs,
      );
      return { status: 'sent' };
    } catch (error) {
      return outcomeOfFcmError(error);
    }
  }

  async close(): Promise<void> {
    await deleteApp(this.app);
    this.agent?.destroy();
  }
}

/** Maps what firebase-admin threw to an outcome; a timeout or anything unknown is a retry. */
export function outcomeOfFcmError(error: unknown): PushOutcome {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return { status: 'retry', reason: 'timeout_or_transport' };
  const reason = code.replace(/^(messaging|app)\//, '');
  if (DEAD_TOKEN_CODES.has(reason)) return { status: 'dead_token', reason };
  if (RETRY_CODES.has(reason)) return { status: 'retry', reason };
  return { status: 'rejected', reason };
}

/** An HTTPS agent whose every connection goes to `address`, verified against the original name. */
function redirectingAgent(
  address: { readonly host: string; readonly port: number },
  ca: readonly string[] | undefined,
): Agent {
  const agent = new Agent({ keepAlive: true });
  (agent as unknown as { createConnection: (o: ConnectionOptions) => unknown }).createConnection = (
    options: ConnectionOptions,
  ) =>
    connect({
      ...options,
      host: address.host,
      port: address.port,
      servername: options.servername ?? options.host,
      ...(ca ? { ca: [...ca] } : {}),
    });
  return agent;
}
