import type { DeviceRef } from '../domain/call.events';
import type { CallHistoryEntry } from './call-views';

/** A call whose ring timeout or grace period is due. */
export interface DueCallTimers {
  readonly tenantId: string;
  readonly callId: string;
  readonly conversationId: string;
}

/** A call a device is in. */
export interface DeviceCall {
  readonly callId: string;
  readonly conversationId: string;
}

/**
 * Reads of the call-state read model (projections/call-state.projection.ts: `ll_calls`,
 * `ll_call_devices`). Ids, times and statuses only: never SDP or an address.
 *
 * Every adapter guarantees: each method is one statement, scoped to the tenant it is given (but
 * `dueTimers`, which spans tenants for the sweep); it follows the projection as it is (a call
 * started a moment ago may not show yet; CallService passes over what lags).
 */
export interface CallReads {
  /** The sequence of the conversation's latest call (0 when it has had none). */
  latestSequence(tenantId: string, conversationId: string): Promise<number>;
  /** The conversation's calls, newest first, at most `limit`. */
  history(tenantId: string, conversationId: string, limit: number): Promise<CallHistoryEntry[]>;
  /** Calls with a deadline at or before `now`, earliest first, at most 200. */
  dueTimers(now: Date): Promise<DueCallTimers[]>;
  /**
   * The calls not ended that the device is in; with `inGraceOnly`, only those where it is in its
   * grace period (disconnected, not yet left).
   */
  callsOfDevice(
    tenantId: string,
    device: DeviceRef,
    options: { readonly inGraceOnly: boolean },
  ): Promise<DeviceCall[]>;
}
