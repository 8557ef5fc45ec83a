import type { GlobalPosition } from '@ledgerline/kernel';
import type { PresenceState } from '../domain/presence.decider';
import type { PresenceStatus } from '../domain/presence.events';

export type { PresenceStatus };

/** A user's presence as a viewer may see it. */
export interface PresenceView {
  readonly userId: string;
  readonly status: PresenceStatus;
  /** Offline: when the user was last connected anywhere. Undefined while connected, or never seen. */
  readonly lastSeenAt: Date | undefined;
  /** The position of the presence event this view is as of; undefined for a user never seen. */
  readonly position?: GlobalPosition;
  /** When the current status began; undefined for a user never seen. */
  readonly since?: Date;
}

/** A change of a user's presence, live. */
export interface PresenceChange extends PresenceView {
  readonly tenantId: string;
}

/** Ids, conversation and expiry only: a typing indicator never carries what is being typed. */
export interface TypingSignal {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly userId: string;
  /** When clients stop showing it, unless another signal renews it. */
  readonly expiresAt: Date;
}

/** Where presence and typing report trouble: ids, positions and error codes only. */
export interface PresenceLog {
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

export const SILENT_PRESENCE_LOG: PresenceLog = { warn: () => undefined, error: () => undefined };

export function presenceView(
  userId: string,
  state: PresenceState,
  position: GlobalPosition | undefined,
): PresenceView {
  return {
    userId,
    status: state.status,
    lastSeenAt: state.status === 'offline' ? state.lastSeenAt : undefined,
    position,
    since: state.since,
  };
}
