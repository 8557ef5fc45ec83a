import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int } = configVar;

export interface PresenceSettings {
  /** No connection on any node for this long: the user goes offline. */
  readonly graceMs: number;
  /** A node's connections expire unless renewed within this time. */
  readonly connectionLeaseMs: number;
  readonly typingTtlMs: number;
  readonly typingRateLimit: { readonly points: number; readonly windowMs: number };
}

/** LEDGERLINE_PRESENCE_*, LEDGERLINE_TYPING_*: libs/presence's configuration slice (ADR 0027). */
export const presenceConfig = defineConfigSlice(
  'presence',
  {
    /** Presence: how long a user with no connection on any node keeps their status before going offline. */
    LEDGERLINE_PRESENCE_GRACE_MS: int(0, 3_600_000).default(30_000),
    /** Presence: a node renews its connections within this time, or they expire (a node that died). */
    LEDGERLINE_PRESENCE_LEASE_MS: int(300, 3_600_000).default(60_000),
    /** How long a typing indicator lasts unless it is sent again. */
    LEDGERLINE_TYPING_TTL_MS: int(500, 60_000).default(5_000),
    /** Typing signals one user may send per conversation per window (each node counts its own). */
    LEDGERLINE_TYPING_RATE_LIMIT: int(1, 1_000).default(5),
    LEDGERLINE_TYPING_RATE_WINDOW_MS: int(100, 3_600_000).default(5_000),
  },
  (e): PresenceSettings => ({
    graceMs: e.LEDGERLINE_PRESENCE_GRACE_MS,
    connectionLeaseMs: e.LEDGERLINE_PRESENCE_LEASE_MS,
    typingTtlMs: e.LEDGERLINE_TYPING_TTL_MS,
    typingRateLimit: {
      points: e.LEDGERLINE_TYPING_RATE_LIMIT,
      windowMs: e.LEDGERLINE_TYPING_RATE_WINDOW_MS,
    },
  }),
);
