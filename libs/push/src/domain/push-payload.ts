/**
 * What a push may say, by construction: the kind of event, the conversation's id and how many
 * events it stands for. There is no field for a text, a title, a file or a person's name, and
 * nothing else reaches a provider adapter: the app fetches and shows the content itself (APNs
 * `mutable-content`, FCM data messages).
 */
export const PUSH_KINDS = ['message', 'mention'] as const;
export type PushKind = (typeof PUSH_KINDS)[number];

export interface PushPayload {
  readonly kind: PushKind;
  /** An opaque id (a UUID or the app's id), never a title. */
  readonly conversationId: string;
  /** Events coalesced into this push (1 or more). */
  readonly count: number;
}

/** The texts a push shows before the app has fetched anything, rendered from policies/push-templates.yaml. */
export interface RenderedAlert {
  readonly title: string;
  readonly body: string;
}

/** One push to one device: the payload, its alert, and the key that makes a resend recognisable. */
export interface PushRequest {
  /** UUID per device and coalesced event group: APNs `apns-id`/collapse id, FCM `collapse_key`. */
  readonly idempotencyKey: string;
  readonly deviceId: string;
  readonly platform: 'apns' | 'fcm';
  readonly environment: 'production' | 'sandbox';
  readonly appId: string;
  readonly token: string;
  readonly payload: PushPayload;
  readonly alert: RenderedAlert;
}

/**
 * How a provider answered, in the terms the outbox acts on:
 * - `sent`: accepted.
 * - `retry`: try again later (throttled, provider down, timeout); `retryAfterMs` when it said.
 * - `dead_token`: the token is no longer valid for the app (APNs 410 Unregistered, FCM
 *   UNREGISTERED): the device is removed.
 * - `rejected`: this request can never succeed (a bad token, a topic mismatch, a payload too
 *   large): given up, the device kept only if the token itself is fine.
 */
export type PushOutcome =
  | { readonly status: 'sent' }
  | { readonly status: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  | { readonly status: 'dead_token'; readonly reason: string }
  | { readonly status: 'rejected'; readonly reason: string };
