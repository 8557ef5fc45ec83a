import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int } = configVar;

/** libs/calls's settings: call lifecycle and signalling. */
export interface CallsSettings {
  /** How long a callee's devices ring before the call is missed. */
  readonly ringTimeoutMs: number;
  /** A participant whose connection died leaves after this long unless it comes back. */
  readonly graceMs: number;
  /** Devices in one call at most. */
  readonly maxParticipants: number;
  /** How often each node looks for due ring timeouts and grace periods. */
  readonly sweepIntervalMs: number;
  /** An SDP offer or answer larger than this is refused. */
  readonly maxSdpBytes: number;
  /** ICE candidates one device may send per call per window. */
  readonly iceRateLimit: { readonly points: number; readonly windowMs: number };
  /** How long a relayed signal waits for its device (sealed, in the database) before it is dropped. */
  readonly signalTtlMs: number;
}

/** LEDGERLINE_CALL_*: libs/calls's configuration slice (docs/adr/0027). */
export const callsConfig = defineConfigSlice(
  'calls',
  {
    /** How long a callee's devices ring before the call is missed. */
    LEDGERLINE_CALL_RING_TIMEOUT_MS: int(1_000, 600_000).default(45_000),
    /** A participant whose connection died leaves after this long unless it reconnects. */
    LEDGERLINE_CALL_GRACE_MS: int(0, 600_000).default(15_000),
    /** Devices in one call at most. */
    LEDGERLINE_CALL_MAX_PARTICIPANTS: int(2, 1_000).default(16),
    /** How often each node looks for due ring timeouts and grace periods. */
    LEDGERLINE_CALL_SWEEP_INTERVAL_MS: int(50, 60_000).default(1_000),
    /** Largest SDP offer or answer accepted, in bytes. */
    LEDGERLINE_CALL_MAX_SDP_BYTES: int(1_024, 262_144).default(32_768),
    /** ICE candidates one device may send per call per window. */
    LEDGERLINE_CALL_ICE_RATE_LIMIT: int(1, 10_000).default(100),
    LEDGERLINE_CALL_ICE_RATE_WINDOW_MS: int(100, 600_000).default(10_000),
    /** How long a relayed signal waits (sealed) for its device before it is dropped. */
    LEDGERLINE_CALL_SIGNAL_TTL_MS: int(1_000, 600_000).default(30_000),
  },
  (e): CallsSettings => ({
    ringTimeoutMs: e.LEDGERLINE_CALL_RING_TIMEOUT_MS,
    graceMs: e.LEDGERLINE_CALL_GRACE_MS,
    maxParticipants: e.LEDGERLINE_CALL_MAX_PARTICIPANTS,
    sweepIntervalMs: e.LEDGERLINE_CALL_SWEEP_INTERVAL_MS,
    maxSdpBytes: e.LEDGERLINE_CALL_MAX_SDP_BYTES,
    iceRateLimit: {
      points: e.LEDGERLINE_CALL_ICE_RATE_LIMIT,
      windowMs: e.LEDGERLINE_CALL_ICE_RATE_WINDOW_MS,
    },
    signalTtlMs: e.LEDGERLINE_CALL_SIGNAL_TTL_MS,
  }),
);
