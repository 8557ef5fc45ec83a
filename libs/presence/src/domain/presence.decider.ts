import type { PresenceCommand, ReconcilePresence, SetPresenceStatus } from './presence.commands';
import { InvalidPresenceInput, PresenceRefusalReason, PresenceRefused } from './presence.errors';
import type {
  PresenceCause,
  PresenceChanged,
  PresenceEvent,
  PresenceStatus,
} from './presence.events';

/** Where a user stands: the last PresenceChanged of their stream (offline when there is none). */
export interface PresenceState {
  readonly status: PresenceStatus;
  /** When the current status began; undefined for a user never seen. */
  readonly since: Date | undefined;
  /** Offline: when the user was last connected anywhere. */
  readonly lastSeenAt: Date | undefined;
}

export function initialPresenceState(): PresenceState {
  return { status: 'offline', since: undefined, lastSeenAt: undefined };
}

export function evolvePresence(_state: PresenceState, event: PresenceEvent): PresenceState {
  switch (event.type) {
    case 'PresenceChanged':
      return {
        status: event.data.status,
        since: new Date(event.data.at),
        lastSeenAt: event.data.lastSeenAt === null ? undefined : new Date(event.data.lastSeenAt),
      };
  }
}

/**
 * The debounce, as a pure decision. A status is written only when it changes (a repeat writes
 * nothing), and offline only once no connection has been live anywhere for the whole grace period:
 * a connection that drops and comes back within it writes no event at all.
 */
export function decidePresence(command: PresenceCommand, state: PresenceState): PresenceEvent[] {
  switch (command.type) {
    case 'ReconcilePresence':
      return reconcile(command.data, state);
    case 'SetPresenceStatus':
      return setStatus(command.data, state);
  }
}

export const presenceDecider = {
  decide: decidePresence,
  evolve: evolvePresence,
  initialState: initialPresenceState,
} as const;

/**
 * When a user who has no live connection goes offline: the grace period after they were last
 * connected. Undefined when nothing is pending (a connection is live, or they are offline).
 */
export function offlineDueAt(
  state: PresenceState,
  observed: Pick<
    ReconcilePresence['data'],
    'liveConnections' | 'lastConnectedAt' | 'at' | 'graceMs'
  >,
): Date | undefined {
  if (observed.liveConnections > 0 || state.status === 'offline') return undefined;
  return new Date(lastSeen(state, observed).getTime() + observed.graceMs);
}

function reconcile(d: ReconcilePresence['data'], state: PresenceState): PresenceEvent[] {
  if (d.liveConnections > 0) {
    return state.status === 'offline' ? [changed(d, state, 'online', 'connected', null)] : [];
  }
  const due = offlineDueAt(state, d);
  if (due === undefined || d.at.getTime() < due.getTime()) return [];
  return [changed(d, state, 'offline', 'disconnected', lastSeen(state, d))];
}

function setStatus(d: SetPresenceStatus['data'], state: PresenceState): PresenceEvent[] {
  if (d.status !== 'online' && d.status !== 'away') {
    throw new InvalidPresenceInput('status', 'invalid_value');
  }
  if (d.liveConnections <= 0) throw new PresenceRefused(PresenceRefusalReason.NotConnected);
  if (state.status === d.status) return [];
  return [changed(d, state, d.status, 'status_set', null)];
}

/**
 * The last moment the user was known connected: their latest closed (or expired) connection, or
 * the start of their current status if that is later (they were connected then), or now.
 */
function lastSeen(
  state: PresenceState,
  observed: Pick<ReconcilePresence['data'], 'lastConnectedAt' | 'at'>,
): Date {
  const candidates = [observed.lastConnectedAt, state.since].filter(
    (d): d is Date => d !== undefined,
  );
  if (candidates.length === 0) return observed.at;
  return new Date(Math.max(...candidates.map((d) => d.getTime())));
}

function changed(
  d: ReconcilePresence['data'] | SetPresenceStatus['data'],
  state: PresenceState,
  status: PresenceStatus,
  cause: PresenceCause,
  lastSeenAt: Date | null,
): PresenceChanged {
  return {
    type: 'PresenceChanged',
    v: 1,
    data: {
      tenantId: d.tenantId,
      userId: d.userId,
      userKind: d.userKind,
      status,
      previousStatus: state.status,
      at: d.at.toISOString(),
      lastSeenAt: lastSeenAt === null ? null : lastSeenAt.toISOString(),
      cause,
    },
  };
}
