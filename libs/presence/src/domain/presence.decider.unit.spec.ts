import { DeciderSpecification } from '@ledgerline/testing';
import type { ReconcilePresence, SetPresenceStatus } from './presence.commands';
import {
  decidePresence,
  initialPresenceState,
  offlineDueAt,
  presenceDecider,
  type PresenceState,
} from './presence.decider';
import { InvalidPresenceInput, PresenceRefused } from './presence.errors';
import type { PresenceChanged, PresenceStatus } from './presence.events';
import { presenceStreamId } from './presence-stream';

const T0 = new Date('2026-05-01T09:00:00.000Z');
const GRACE = 30_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const subject = { tenantId: 'clinic-a', userId: 'alice', userKind: 'user' } as const;

const spec = DeciderSpecification.for(presenceDecider);

function reconcile(
  ms: number,
  liveConnections: number,
  lastConnectedAtMs?: number,
): ReconcilePresence {
  return {
    type: 'ReconcilePresence',
    data: {
      ...subject,
      liveConnections,
      lastConnectedAt: lastConnectedAtMs === undefined ? undefined : at(lastConnectedAtMs),
      at: at(ms),
      graceMs: GRACE,
    },
  };
}

function setStatus(ms: number, status: 'online' | 'away', liveConnections = 1): SetPresenceStatus {
  return { type: 'SetPresenceStatus', data: { ...subject, status, liveConnections, at: at(ms) } };
}

function changed(
  ms: number,
  status: PresenceStatus,
  previousStatus: PresenceStatus,
  cause: PresenceChanged['data']['cause'],
  lastSeenMs?: number,
): PresenceChanged {
  return {
    type: 'PresenceChanged',
    v: 1,
    data: {
      ...subject,
      status,
      previousStatus,
      at: at(ms).toISOString(),
      lastSeenAt: lastSeenMs === undefined ? null : at(lastSeenMs).toISOString(),
      cause,
    },
  };
}

const online = changed(0, 'online', 'offline', 'connected');

describe('presence decider', () => {
  describe('connections', () => {
    it('goes online with the first live connection', () => {
      spec.given([]).when(reconcile(0, 1)).then([online]);
    });

    it('writes nothing for a further connection, or while away', () => {
      spec.given([online]).when(reconcile(5_000, 3)).thenNothingHappened();
      spec
        .given([online, changed(1_000, 'away', 'online', 'status_set')])
        .when(reconcile(5_000, 2))
        .thenNothingHappened();
    });

    it('stays online through the grace period after the last connection closed', () => {
      spec
        .given([online])
        .when(reconcile(10_000 + GRACE - 1, 0, 10_000))
        .thenNothingHappened();
    });

    it('goes offline once the grace period has passed, remembering when it was last connected', () => {
      spec
        .given([online])
        .when(reconcile(10_000 + GRACE, 0, 10_000))
        .then([changed(10_000 + GRACE, 'offline', 'online', 'disconnected', 10_000)]);
      spec
        .given([online, changed(2_000, 'away', 'online', 'status_set')])
        .when(reconcile(90_000, 0, 20_000))
        .then([changed(90_000, 'offline', 'away', 'disconnected', 20_000)]);
    });

    it('writes nothing when a connection dropped and came back within the grace period', () => {
      // Closed at 10 s, reopened at 12 s, and then the grace timer of the close fires.
      spec
        .given([online])
        .when(reconcile(10_000 + GRACE, 1, 10_000))
        .thenNothingHappened();
    });

    it('writes offline once only, and nothing for a user never seen', () => {
      const offline = changed(40_000, 'offline', 'online', 'disconnected', 10_000);
      spec
        .given([online, offline])
        .when(reconcile(99_000, 0, 10_000))
        .thenNothingHappened();
      spec.given([]).when(reconcile(99_000, 0)).thenNothingHappened();
    });

    it('counts from the start of the status when no closed connection is known', () => {
      spec
        .given([online])
        .when(reconcile(GRACE, 0))
        .then([changed(GRACE, 'offline', 'online', 'disconnected', 0)]);
    });

    it('comes back online after offline, with no last-seen while connected', () => {
      const offline = changed(40_000, 'offline', 'online', 'disconnected', 10_000);
      spec
        .given([online, offline])
        .when(reconcile(50_000, 1))
        .then([changed(50_000, 'online', 'offline', 'connected')]);
    });
  });

  describe('away and back', () => {
    it('says away and back, once each', () => {
      const away = changed(1_000, 'away', 'online', 'status_set');
      spec.given([online]).when(setStatus(1_000, 'away')).then([away]);
      spec.given([online, away]).when(setStatus(2_000, 'away')).thenNothingHappened();
      spec
        .given([online, away])
        .when(setStatus(3_000, 'online'))
        .then([changed(3_000, 'online', 'away', 'status_set')]);
      spec.given([online]).when(setStatus(3_000, 'online')).thenNothingHappened();
    });

    it('refuses a status from a user with no live connection', () => {
      spec
        .given([])
        .when(setStatus(0, 'away', 0))
        .thenThrows(PresenceRefused, (e) =>
          expect((e as PresenceRefused).reason).toBe('not_connected'),
        );
    });

    it('refuses a status that cannot be set', () => {
      const offlineCommand = {
        ...setStatus(0, 'away'),
        data: { ...setStatus(0, 'away').data, status: 'offline' },
      } as unknown as SetPresenceStatus;
      spec.given([online]).when(offlineCommand).thenThrows(InvalidPresenceInput);
    });
  });

  describe('offlineDueAt', () => {
    const onlineState: PresenceState = { status: 'online', since: at(0), lastSeenAt: undefined };
    const observed = (live: number, last?: number) => ({
      liveConnections: live,
      lastConnectedAt: last === undefined ? undefined : at(last),
      at: at(5_000),
      graceMs: GRACE,
    });

    it('is the grace period after the last connection, and nothing while one is live or offline', () => {
      expect(offlineDueAt(onlineState, observed(0, 4_000))).toEqual(at(4_000 + GRACE));
      expect(offlineDueAt(onlineState, observed(1, 4_000))).toBeUndefined();
      expect(offlineDueAt(initialPresenceState(), observed(0, 4_000))).toBeUndefined();
    });

    it('never counts from before the current status began', () => {
      const away: PresenceState = { status: 'away', since: at(9_000), lastSeenAt: undefined };
      expect(offlineDueAt(away, observed(0, 4_000))).toEqual(at(9_000 + GRACE));
    });

    it('agrees with the decision', () => {
      const due = offlineDueAt(onlineState, observed(0, 4_000))!;
      const command = (ms: number) => reconcile(ms, 0, 4_000);
      expect(decidePresence(command(due.getTime() - T0.getTime() - 1), onlineState)).toEqual([]);
      expect(decidePresence(command(due.getTime() - T0.getTime()), onlineState)).toHaveLength(1);
    });
  });
});

describe('presenceStreamId', () => {
  it('names plain ids as they are and any other by its hash, never colliding', () => {
    expect(presenceStreamId('clinic-a', 'alice')).toBe('presence:clinic-a:alice');
    const odd = presenceStreamId('clinic-a', 'auth0|123:x');
    expect(odd).toMatch(/^presence:clinic-a:h\/[A-Za-z0-9_-]{43}$/);
    expect(presenceStreamId('clinic-a', 'auth0|123:x')).toBe(odd);
    expect(presenceStreamId('clinic-a', 'auth0|123:y')).not.toBe(odd);
    expect(presenceStreamId('clinic-a', 'x'.repeat(128)).length).toBeLessThanOrEqual(200);
    expect(presenceStreamId('t'.repeat(64), 'y'.repeat(100)).length).toBeLessThanOrEqual(200);
  });
});
