import type { PushKind } from '../domain/push-payload';
import type { PushEnvironment, PushPlatform } from '../domain/push.events';

/** A row of the outbox, claimed under a lease, with the device it goes to. Ids only, no content. */
export interface ClaimedPush {
  readonly pushId: string;
  readonly tenantId: string;
  readonly deviceId: string;
  readonly userId: string;
  readonly conversationId: string;
  readonly kind: PushKind;
  /** Events this push stands for (several collapse into one while it waits). */
  readonly eventCount: number;
  readonly firstEventId: string;
  readonly lastEventId: string;
  /** Time of the first event. */
  readonly eventAt: Date;
  /** Attempts that failed so far. */
  readonly attempts: number;
  /** The user's device as registered now; undefined when unregistered (or handed to another user). */
  readonly device: PushDevice | undefined;
}

export interface PushDevice {
  readonly platform: PushPlatform;
  readonly environment: PushEnvironment;
  readonly appId: string;
  /** Where the sealed token is: the registration event's stream and revision. */
  readonly tokenStreamId: string;
  readonly tokenRevision: bigint;
}

/**
 * The push outbox the projection fills (`ll_push_outbox`) as the dispatcher works it.
 *
 * Every adapter guarantees:
 * - `claim` takes up to `limit` rows due at `now` whose lease (if any) has ended, oldest due
 *   first, and leases them until `leaseUntil` in the same statement; concurrent claims (other
 *   processes) never take a row whose lease holds and never wait on each other's rows.
 * - `reschedule` records a failed attempt: the count, and the next attempt, which is also the end
 *   of the lease (so events meanwhile go to a new row, not into the one being retried).
 * - `remove` deletes a row; removing one already gone is a no-op.
 * Each method is one statement.
 */
export interface PushOutbox {
  claim(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedPush[]>;
  reschedule(pushId: string, attempts: number, nextAttemptAt: Date): Promise<void>;
  remove(pushId: string): Promise<void>;
}
