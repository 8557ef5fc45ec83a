/**
 * How typing signals travel between the nodes sharing a database: a payload published on one node
 * reaches every node's subscriber (the publisher's own included).
 *
 * Every adapter guarantees: `publish` resolves once every listening node will receive the payload
 * (ids and an expiry only, well under 8,000 bytes; never PHI); a subscriber receives payloads in
 * the order they were published, and `undefined` after its listening connection was lost and
 * re-established (payloads published meanwhile are lost: typing signals are ephemeral).
 */
export interface TypingChannel {
  publish(payload: string): Promise<void>;
  /** Hands every payload (or `undefined` after a reconnect) to `onPayload` between start and stop. */
  subscribe(onPayload: (payload: string | undefined) => void): TypingSubscription;
}

export interface TypingSubscription {
  start(): Promise<void>;
  stop(): Promise<void>;
}
