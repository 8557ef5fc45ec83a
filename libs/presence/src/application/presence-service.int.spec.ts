import { AccessDeniedError } from '@ledgerline/identity';
import { availableDatabases } from '@ledgerline/testing';
import { InvalidPresenceInput, PresenceRefused } from '../domain/presence.errors';
import type { PresenceStatus } from '../domain/presence.events';
import { presenceStreamId } from '../domain/presence-stream';
import { PresenceNotVisibleError } from './presence.errors';
import type { PresenceChange } from './presence-views';
import {
  Collected,
  GRACE_MS,
  LEASE_MS,
  newTenant,
  openPresenceFixture,
  type PresenceFixture,
} from './testing/presence-fixture';

const statuses = (changes: readonly PresenceChange[], userId = 'alice') =>
  changes.filter((c) => c.userId === userId).map((c) => c.status);

for (const kind of availableDatabases()) {
  describe(`PresenceService on ${kind}`, () => {
    let f: PresenceFixture;

    beforeAll(async () => {
      f = await openPresenceFixture(kind);
    });
    afterAll(async () => {
      await f?.close();
    });

    /** The statuses written to a user's stream, in order. */
    async function written(tenantId: string, userId: string): Promise<PresenceStatus[]> {
      const events = await f.ledgerFixture.ledger.readStream(presenceStreamId(tenantId, userId));
      return events.map((e) => {
        if (e.body.status !== 'available') throw new Error('shredded');
        return (JSON.parse(e.body.payload.toString('utf8')) as { status: PresenceStatus }).status;
      });
    }

    it('goes online, then offline only after the grace period, seen only by those who share a conversation', async () => {
      const t = newTenant();
      const node = await f.newNode();
      await f.createGroup(t.alice, ['bob']);
      const bob = new Collected<PresenceChange>();
      const carol = new Collected<PresenceChange>();
      const alice = new Collected<PresenceChange>();
      const backend = new Collected<PresenceChange>();
      const stops = [
        node.presence.watch(t.bob, bob.push),
        node.presence.watch(t.carol, carol.push),
        node.presence.watch(t.alice, alice.push),
        node.presence.watch(t.backend, backend.push),
      ];
      // Another tenant's alice shares a conversation with its own bob: none of it crosses over.
      const other = newTenant();
      await f.createGroup(other.alice, ['bob']);
      const otherBob = new Collected<PresenceChange>();
      stops.push(node.presence.watch(other.bob, otherBob.push));

      await node.presence.connectionOpened(t.alice, 'conn-1');
      await bob.until((c) => statuses(c).includes('online'), 'bob sees alice online');
      expect(bob.items[0]).toMatchObject({
        tenantId: t.tenantId,
        userId: 'alice',
        status: 'online',
        lastSeenAt: undefined,
      });
      await alice.until((c) => statuses(c).includes('online'), 'alice sees herself online');
      await backend.until((c) => statuses(c).includes('online'), 'a service sees alice');
      expect(await node.presence.presenceOf(t.bob, 'alice')).toMatchObject({
        userId: 'alice',
        status: 'online',
        lastSeenAt: undefined,
        position: bob.items[0]!.position,
      });
      expect((await node.presence.presenceOf(t.backend, 'alice')).status).toBe('online');
      expect((await node.presence.presenceOf(t.alice, 'alice')).status).toBe('online');

      // Carol shares nothing with alice: the same refusal as for a user who does not exist.
      const hidden = await node.presence.presenceOf(t.carol, 'alice').catch((e: unknown) => e);
      const missing = await node.presence.presenceOf(t.carol, 'nobody').catch((e: unknown) => e);
      expect(hidden).toBeInstanceOf(PresenceNotVisibleError);
      expect(missing).toBeInstanceOf(PresenceNotVisibleError);
      expect((hidden as PresenceNotVisibleError).code).toBe(
        (missing as PresenceNotVisibleError).code,
      );
      await expect(node.presence.presenceOf(other.bob, 'alice')).resolves.toMatchObject({
        status: 'offline',
        position: undefined,
      }); // the other tenant's alice, never seen

      // The last connection closes: online through the grace period, offline at its end.
      const closedAt = f.ledgerFixture.clock.now();
      await node.presence.connectionClosed(t.alice, 'conn-1');
      f.ledgerFixture.clock.advance(GRACE_MS - 1);
      await node.presence.sweep();
      expect((await node.presence.presenceOf(t.bob, 'alice')).status).toBe('online');
      expect(await written(t.tenantId, 'alice')).toEqual(['online']);
      f.ledgerFixture.clock.advance(1);
      await node.presence.sweep();
      await bob.until((c) => statuses(c).includes('offline'), 'bob sees alice offline');
      expect(bob.items.find((c) => c.status === 'offline')).toMatchObject({
        userId: 'alice',
        lastSeenAt: closedAt,
      });
      expect(await node.presence.presenceOf(t.bob, 'alice')).toMatchObject({
        status: 'offline',
        lastSeenAt: closedAt,
      });
      expect(await written(t.tenantId, 'alice')).toEqual(['online', 'offline']);

      // Carol's own change reaches her: everything before it was routed, and none of it was hers.
      await node.presence.connectionOpened(t.carol, 'conn-carol');
      await carol.until((c) => statuses(c, 'carol').includes('online'), 'carol sees herself');
      expect(statuses(carol.items)).toEqual([]);
      expect(statuses(bob.items, 'carol')).toEqual([]);
      expect(otherBob.items).toEqual([]);
      expect(statuses(bob.items)).toEqual(['online', 'offline']);
      for (const stop of stops) stop();
    });

    it('with more watchers in the tenant than a change asks about by name, still only those who share a conversation see it', async () => {
      const t = newTenant();
      const node = await f.newNode();
      await f.createGroup(t.alice, ['bob', 'viewer-3']);
      const crowd = Array.from({ length: 80 }, (_, i) => ({
        principal: { ...t.bob, id: `viewer-${i}` },
        seen: new Collected<PresenceChange>(),
      }));
      const bob = new Collected<PresenceChange>();
      const alice = new Collected<PresenceChange>();
      const stops = [
        ...crowd.map((c) => node.presence.watch(c.principal, c.seen.push)),
        // Two watches of one viewer: both are told.
        node.presence.watch(t.bob, bob.push),
        node.presence.watch(t.bob, bob.push),
        node.presence.watch(t.alice, alice.push),
      ];
      await node.presence.connectionOpened(t.alice, 'conn-crowd');
      await bob.until((c) => statuses(c).length === 2, 'both of bob’s watches see alice');
      await crowd[3]!.seen.until((c) => statuses(c).includes('online'), 'viewer-3 sees alice');
      await alice.until((c) => statuses(c).includes('online'), 'alice sees herself');
      // Carol's change comes after alice's: once it is routed, alice's was too, everywhere.
      const carol = new Collected<PresenceChange>();
      stops.push(node.presence.watch(t.carol, carol.push));
      await node.presence.connectionOpened(t.carol, 'conn-crowd-carol');
      await carol.until((c) => statuses(c, 'carol').includes('online'), 'carol sees herself');
      for (const [i, c] of crowd.entries()) {
        expect(statuses(c.seen.items)).toEqual(i === 3 ? ['online'] : []);
      }
      expect(statuses(bob.items, 'carol')).toEqual([]);
      for (const stop of stops) stop();
      await node.presence.connectionClosed(t.alice, 'conn-crowd');
      await node.presence.connectionClosed(t.carol, 'conn-crowd-carol');
    });

    it('writes no event for a connection that flaps within the grace period, nor for a repeated status', async () => {
      const t = newTenant();
      const node = await f.newNode();
      const clock = f.ledgerFixture.clock;
      await node.presence.connectionOpened(t.alice, 'phone');
      for (let i = 0; i < 5; i++) {
        await node.presence.connectionClosed(t.alice, i % 2 === 0 ? 'phone' : 'laptop');
        clock.advance(GRACE_MS / 3);
        await node.presence.sweep();
        await node.presence.connectionOpened(t.alice, i % 2 === 0 ? 'laptop' : 'phone');
        await node.presence.sweep();
      }
      await node.presence.connectionOpened(t.alice, 'tablet'); // a second device: nothing new
      await node.presence.setStatus(t.alice, 'online'); // already online: nothing
      expect(await written(t.tenantId, 'alice')).toEqual(['online']);

      await node.presence.setStatus(t.alice, 'away');
      await node.presence.setStatus(t.alice, 'away');
      await node.presence.setStatus(t.alice, 'online');
      expect(await written(t.tenantId, 'alice')).toEqual(['online', 'away', 'online']);

      // Open now: the laptop (the last reopened) and the tablet.
      await node.presence.connectionClosed(t.alice, 'tablet');
      await node.presence.connectionClosed(t.alice, 'laptop');
      clock.advance(GRACE_MS - 1);
      await node.presence.sweep();
      expect(await written(t.tenantId, 'alice')).toEqual(['online', 'away', 'online']);
      clock.advance(1);
      await node.presence.sweep();
      await node.presence.sweep();
      expect(await written(t.tenantId, 'alice')).toEqual(['online', 'away', 'online', 'offline']);
    });

    it('keeps a user online while another node still holds a connection, and delivers across nodes', async () => {
      const t = newTenant();
      await f.createGroup(t.alice, ['bob']);
      const a = await f.newNode();
      const b = await f.newNode();
      const bobOnA = new Collected<PresenceChange>();
      const stop = a.presence.watch(t.bob, bobOnA.push);
      const clock = f.ledgerFixture.clock;

      // Both nodes at once: one of them writes online, the other finds it written.
      await Promise.all([
        a.presence.connectionOpened(t.alice, 'a-1'),
        b.presence.connectionOpened(t.alice, 'b-1'),
      ]);
      await b.presence.connectionClosed(t.alice, 'b-1');
      clock.advance(GRACE_MS + 1);
      await a.presence.sweep(); // A renews its lease
      await b.presence.sweep(); // B finds alice still connected on A
      expect((await b.presence.presenceOf(t.bob, 'alice')).status).toBe('online');
      expect(await written(t.tenantId, 'alice')).toEqual(['online']);

      // Closing on A, with nothing left anywhere: B's sweep takes alice offline; A's watcher sees it.
      await a.presence.connectionClosed(t.alice, 'a-1');
      clock.advance(GRACE_MS);
      await Promise.all([a.presence.sweep(), b.presence.sweep()]); // both find alice due
      await bobOnA.until(
        (c) => statuses(c).includes('offline'),
        'bob on A sees the change B wrote',
      );
      expect(statuses(bobOnA.items)).toEqual(['online', 'offline']);
      expect(await written(t.tenantId, 'alice')).toEqual(['online', 'offline']);
      stop();
    });

    it('takes a user offline once the node holding their connection stops renewing its lease', async () => {
      const t = newTenant();
      await f.createGroup(t.alice, ['bob']);
      const clock = f.ledgerFixture.clock;
      const dead = await f.newNode();
      const b = await f.newNode();
      const renewedAt = clock.now();
      await dead.presence.connectionOpened(t.alice, 'd-1');
      // The node stops renewing (it died without closing anything).
      clock.advance(LEASE_MS - 1);
      await b.presence.sweep();
      expect((await b.presence.presenceOf(t.bob, 'alice')).status).toBe('online');
      clock.advance(1);
      await b.presence.sweep();
      expect(await b.presence.presenceOf(t.bob, 'alice')).toMatchObject({
        status: 'offline',
        lastSeenAt: renewedAt,
      });
      expect(await written(t.tenantId, 'alice')).toEqual(['online', 'offline']);

      // It was only stalled: its next sweep restores the connection, and alice is back.
      await dead.presence.sweep();
      expect((await b.presence.presenceOf(t.bob, 'alice')).status).toBe('online');
      expect(await written(t.tenantId, 'alice')).toEqual(['online', 'offline', 'online']);
    });

    it('closes what an earlier process left under the same node id when it starts', async () => {
      const t = newTenant();
      const clock = f.ledgerFixture.clock;
      const before = await f.newNode({ nodeId: `restarted-${t.tenantId}` });
      await before.presence.connectionOpened(t.alice, 'x-1');
      // The process is gone; a new one starts under the same node id well within the lease.
      const after = await f.newNode({ nodeId: `restarted-${t.tenantId}` });
      clock.advance(GRACE_MS);
      await after.presence.sweep();
      expect((await after.presence.presenceOf(t.alice, 'alice')).status).toBe('offline');
    });

    it('refuses what cannot be, writes nothing for it, and records denied reads', async () => {
      const t = newTenant();
      const node = await f.newNode();
      await expect(node.presence.setStatus(t.alice, 'away')).rejects.toMatchObject({
        reason: 'not_connected',
      });
      await expect(node.presence.setStatus(t.alice, 'away')).rejects.toBeInstanceOf(
        PresenceRefused,
      );
      await expect(
        node.presence.setStatus(t.alice, 'offline' as unknown as 'away'),
      ).rejects.toBeInstanceOf(InvalidPresenceInput);
      await expect(node.presence.connectionOpened(t.alice, '')).rejects.toBeInstanceOf(
        InvalidPresenceInput,
      );
      await expect(node.presence.connectionOpened(t.alice, 'has space')).rejects.toBeInstanceOf(
        InvalidPresenceInput,
      );
      await expect(node.presence.presenceOf(t.bob, 'not an id')).rejects.toBeInstanceOf(
        InvalidPresenceInput,
      );
      // Services and principals without presence.write have no presence.
      await node.presence.connectionOpened(t.backend, 'svc-1');
      await node.presence.connectionOpened(t.auditor, 'aud-1');
      await expect(node.presence.setStatus(t.backend, 'away')).rejects.toMatchObject({
        reason: 'no_presence',
      });
      expect(await written(t.tenantId, 'alice')).toEqual([]);
      expect(await written(t.tenantId, t.backend.id)).toEqual([]);
      expect(await written(t.tenantId, t.auditor.id)).toEqual([]);
      const rows = await f.ledgerFixture.db.client.query(
        'select 1 from ll_presence_connections where tenant_id = $1',
        [t.tenantId],
      );
      expect(rows).toEqual([]);

      // An auditor may not read presence, even of someone they share a conversation with:
      // refused, and the refusal is recorded.
      await f.createGroup(t.alice, [t.auditor.id]);
      f.accessLog.clear();
      await expect(node.presence.presenceOf(t.auditor, 'alice')).rejects.toBeInstanceOf(
        AccessDeniedError,
      );
      await expect(node.presence.authorizeWatch(t.auditor)).rejects.toBeInstanceOf(
        AccessDeniedError,
      );
      expect(f.accessLog.denials.map((d) => [d.actor.id, d.permission])).toEqual([
        ['audrey', 'presence.read'],
        ['audrey', 'presence.read'],
      ]);
      // Watching without the permission sees no one (the realtime gateway watches for everyone).
      const auditorSees = new Collected<PresenceChange>();
      const aliceSees = new Collected<PresenceChange>();
      const stopAuditor = node.presence.watch(t.auditor, auditorSees.push);
      const stopAlice = node.presence.watch(t.alice, aliceSees.push);
      await node.presence.connectionOpened(t.alice, 'visible-1');
      await aliceSees.until((c) => c.length > 0, 'alice sees herself');
      expect(auditorSees.items).toEqual([]);
      stopAuditor();
      stopAlice();
    });
  });
}

describe('PresenceService offline timers (real clock)', () => {
  let f: PresenceFixture;
  beforeAll(async () => {
    f = await openPresenceFixture('pglite');
  });
  afterAll(async () => {
    await f?.close();
  });

  it('takes the user offline when the grace period after the last close ends, with no sweep', async () => {
    const t = newTenant();
    const node = await f.newNode({
      graceMs: 200,
      offlineTimers: true,
      clock: { now: () => new Date() },
    });
    const self = new Collected<PresenceChange>();
    const stop = node.presence.watch(t.alice, self.push);
    await node.presence.connectionOpened(t.alice, 'c-1');
    await node.presence.connectionClosed(t.alice, 'c-1');
    await self.until((c) => statuses(c).includes('offline'), 'alice goes offline on her own');
    expect(statuses(self.items)).toEqual(['online', 'offline']);
    stop();
  });
});
