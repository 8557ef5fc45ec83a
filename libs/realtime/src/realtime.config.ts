import { REQUEST_RATE_BURST } from '@ledgerline/identity';
import type { LedgerlineConfig } from '@ledgerline/kernel';

/** Where the protocol is served. Fixed: it is part of the protocol's version (`v1`). */
export const REALTIME_PATH = '/v1/realtime';
/** The subprotocol a browser client offers (with `bearer.<token>`); the server selects it. */
export const REALTIME_SUBPROTOCOL = 'ledgerline.v1';
/** Prefix of the subprotocol that carries the bearer credential for browsers. */
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * How the realtime gateway serves and protects itself. Built once at start-up from the kernel
 * configuration (`realtimeSettingsFrom`); nothing in this lib reads the environment.
 */
export interface RealtimeSettings {
  readonly path: string;
  /** Largest frame a client may send, in bytes; a larger one closes the connection (1009). */
  readonly maxFrameBytes: number;
  /** Server ping interval; a connection that has not answered by the next ping is dropped. */
  readonly heartbeatMs: number;
  /** A connection whose client sent no request (other than `ping`) for this long is closed (4408). */
  readonly idleTimeoutMs: number;
  /** Bytes a connection may have waiting to go out; past it, close 4429 (slow consumer). */
  readonly sendBufferBytes: number;
  /** Requests per second per connection. */
  readonly ratePerConnection: number;
  /** Requests per second per user, over their connections to this process. */
  readonly ratePerUser: number;
  /** Refused (`rate_limited`) requests within `abuseWindowMs` that close the connection (1008). */
  readonly abuseLimit: number;
  readonly abuseWindowMs: number;
  /** Requests one connection may have being handled at once (beyond: `busy`). */
  readonly maxInFlight: number;
  /** Events read per page while catching a client up. */
  readonly catchUpPageSize: number;
  /**
   * Conversations one `sync` request may name: 500 entries, each at most about 90 bytes
   * (`{"conversationId":"<uuid>","revision":9007199254740991},`), fit the default 64 KiB frame
   * with room to spare. More would be refused by the frame cap (1009) before this limit spoke.
   */
  readonly maxSyncConversations: number;
  /** How long a draining server waits for clients to answer its close before cutting them off. */
  readonly drainGraceMs: number;
  /**
   * How long a slow consumer's connection stays open after its close (4429) was queued behind
   * what it had not read: a client that resumes reading within it reads up to the close and sees
   * 4429; one that does not is cut off (it sees 1006).
   */
  readonly slowConsumerGraceMs: number;
  /** Browser origins allowed to connect; undefined: any (requests without an Origin always pass). */
  readonly allowedOrigins?: readonly string[];
  /**
   * Burst allowance of the request rates: beyond its per-second rate, a connection (and a user)
   * may send `rate × burstSeconds` more requests per `burstWindowMs`, so frames read in a bunch
   * (the server paused, the network stalled) are not refused when the client kept its pace.
   */
  readonly burstSeconds: number;
  readonly burstWindowMs: number;
}

export const DEFAULT_REALTIME_LIMITS = {
  abuseWindowMs: 10_000,
  maxInFlight: 64,
  catchUpPageSize: 100,
  maxSyncConversations: 500,
  drainGraceMs: 1_000,
  ...REQUEST_RATE_BURST,
  slowConsumerGraceMs: 10_000,
} as const;

/** The settings the kernel configuration describes (LEDGERLINE_REALTIME_*, LEDGERLINE_ALLOWED_ORIGINS). */
export function realtimeSettingsFrom(config: LedgerlineConfig): RealtimeSettings {
  return {
    path: REALTIME_PATH,
    ...config.realtime,
    ...DEFAULT_REALTIME_LIMITS,
    ...(config.http.allowedOrigins ? { allowedOrigins: config.http.allowedOrigins } : {}),
  };
}
