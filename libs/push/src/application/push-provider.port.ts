import type { PushOutcome, PushRequest } from '../domain/push-payload';

/**
 * A push service (APNs, FCM, or the log for development) as the dispatcher sends through it.
 *
 * Every adapter guarantees (the contract suite in adapters/contract checks each):
 * - `send` never rejects for anything the provider or the network did: every documented answer
 *   maps to a PushOutcome (`sent`, `retry` for throttling, provider errors and timeouts, with the
 *   delay it asked for; `dead_token` only when the provider says the token is no longer valid for
 *   the app; `rejected` for a request that can never succeed), and no call outlives `timeoutMs`.
 * - The request's `idempotencyKey` goes to the provider as its own resend key where it has one
 *   (APNs `apns-id` and `apns-collapse-id`; FCM `collapse_key` and a data field), so a push sent
 *   again after a crash collapses into the first on the phone.
 * - What reaches the provider is the request's payload and rendered alert, and nothing else; a
 *   log line names the device id, the key and the outcome, never the token or the payload.
 */
export interface PushProvider {
  readonly name: string;
  send(request: PushRequest): Promise<PushOutcome>;
  close(): Promise<void>;
}
