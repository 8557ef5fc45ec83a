/**
 * WebSocket close codes the edges send. 1xxx are RFC 6455's; 4xxx are application codes that
 * mirror the HTTP status with the same meaning (as graphql-ws does), so a client library can
 * switch on them without reading reasons. Reasons are short, fixed English phrases: never input.
 */
export const WS_CLOSE = {
  /** The server is shutting down: reconnect (elsewhere) at once. */
  goingAway: 1001,
  /** The client kept breaking the rules (a flood after rate-limit warnings). Reason says which. */
  policyViolation: 1008,
  /** A frame over the size cap (ws closes with it itself). */
  messageTooBig: 1009,
  /** The server cannot serve this connection now (identity provider keys unavailable); retry later. */
  tryAgainLater: 1013,
  /** Refused or expired credential. Reason `Unauthorized`, or `Token expired`. */
  unauthorized: 4401,
  /**
   * The credential that opened the connection was revoked (an API key): reason `Credential
   * revoked`. Reconnecting with the same credential is refused; it needs a new one.
   */
  credentialRevoked: 4403,
  /** No activity from the client for the configured idle time (automatic logoff). */
  idle: 4408,
  /** The client did not read what it was sent fast enough; it should resume later. */
  slowConsumer: 4429,
  internalError: 4500,
} as const;

export type WsCloseCode = (typeof WS_CLOSE)[keyof typeof WS_CLOSE];
