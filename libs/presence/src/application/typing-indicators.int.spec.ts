import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@ledgerline/database';
import { AccessDeniedError } from '@ledgerline/identity';
import { encodePosition } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import { InvalidPresenceInput, PresenceRefused } from '../domain/presence.errors';
import { TypingConversationNotFoundError, TypingRateLimitedError } from './presence.errors';
import type { TypingSignal } from './presence-views';
import { TYPING_CHANNEL } from '../adapters/pg-typing-channel.adapter';
import {
  Collected,
  TYPING_TTL_MS,
  newTenant,
  openPresenceFixture,
  type PresenceFixture,
} from './testing/presence-fixture';

/** Every row of every table of the database (its schema), as text: what is stored, all of it. */
async function everything(client: SqlClient): Promise<Record<string, string[]>> {
  const tables = await client.query<{ table_name: string }>(
    `select table_name from information_schema.tables
     where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  );
  const out: Record<string, string[]> = {};
  for (const { table_name } of tables) {
    const rows = await client.query<{ r: string }>(
      `select row_to_json(t)::text as r from "${table_name}" t order by 1`,
    );
    out[table_name] = rows.map((row) => row.r);
  }
  return out;
}

for (const kind of availableDatabases()) {
  describe(`TypingIndicators on ${kind}`, () => {
    let f: PresenceFixture;

    beforeAll(async () => {
      f = await openPresenceFixture(kind);
    });
    afterAll(async () => {
      await f?.close();
    });

    it('reaches the members on every node, expires in its TTL, and is never stored', async () => {
      const t = newTenant();
      const group = await f.createGroup(t.alice, ['bob']);
      const carolsOwn = await f.createGroup(t.carol, ['mallory']);
      const a = await f.newNode();
      const b = await f.newNode();
      const bobOnB = new Collected<TypingSignal>();
      const carolOnB = new Collected<TypingSignal>();
      const aliceOnA = new Collected<TypingSignal>();
      const backendOnB = new Collected<TypingSignal>();
      const stops = [
        b.typing.watch(t.bob, bobOnB.push),
        b.typing.watch(t.carol, carolOnB.push),
        a.typing.watch(t.alice, aliceOnA.push),
        b.typing.watch(t.backend, backendOnB.push),
      ];
      const client = f.ledgerFixture.db.client;
      const storedBefore = await everything(client);
      expect(Object.keys(storedBefore)).toEqual(
        expect.arrayContaining(['ll_presence_connections', 'll_conv_list_members']),
      );
      const headBefore = await f.ledgerFixture.store.headPosition();

      const now = f.ledgerFixture.clock.now();
      const signal = await a.typing.typing(t.alice, group);
      expect(signal).toEqual({
        tenantId: t.tenantId,
        conversationId: group,
        userId: 'alice',
        expiresAt: new Date(now.getTime() + TYPING_TTL_MS),
      });
      expect(await bobOnB.until((s) => s.length > 0, 'bob on node B')).toEqual([signal]);
      expect(await aliceOnA.until((s) => s.length > 0, 'alice’s other devices')).toEqual([signal]);
      expect(await backendOnB.until((s) => s.length > 0, 'a service')).toEqual([signal]);

      // Carol is no member: her own conversation's signal reaches her, and nothing before it did.
      await b.typing.typing(t.carol, carolsOwn);
      await carolOnB.until((s) => s.length > 0, 'carol’s own signal');
      expect(carolOnB.items.map((s) => s.conversationId)).toEqual([carolsOwn]);
      expect(bobOnB.items).toEqual([signal]);

      // Nothing was written anywhere: no event, no row.
      expect(encodePosition(await f.ledgerFixture.store.headPosition())).toBe(
        encodePosition(headBefore),
      );
      expect(await everything(client)).toEqual(storedBefore);
      for (const stop of stops) stop();
    });

    it('passes over a signal that expired on the way, and anything that is not a signal', async () => {
      const t = newTenant();
      const group = await f.createGroup(t.alice, ['bob']);
      const node = await f.newNode();
      const bob = new Collected<TypingSignal>();
      const stop = node.typing.watch(t.bob, bob.push);
      const now = f.ledgerFixture.clock.now().getTime();
      const client = f.ledgerFixture.db.client;
      const notify = (payload: string) =>
        client.query('select pg_notify($1, $2)', [TYPING_CHANNEL, payload]);
      const payload = (expiresAt: number, extra: Record<string, unknown> = {}) =>
        JSON.stringify({ v: 1, t: t.tenantId, c: group, u: 'alice', e: expiresAt, ...extra });
      await notify(payload(now)); // expired the moment it arrives
      await notify(payload(now - TYPING_TTL_MS));
      await notify('not json');
      await notify(JSON.stringify({ v: 1, t: t.tenantId, c: group }));
      await notify(payload(now + 1_000, { u: 'has space' }));
      await notify(payload(now + 1_000, { v: 2 }));
      await notify(payload(now + 1_000)); // the only real one
      const received = await bob.until((s) => s.length > 0, 'the live signal');
      expect(received).toEqual([
        {
          tenantId: t.tenantId,
          conversationId: group,
          userId: 'alice',
          expiresAt: new Date(now + 1_000),
        },
      ]);
      // Once the clock passes its expiry, the same signal is no longer delivered.
      f.ledgerFixture.clock.advance(1_000);
      await notify(payload(now + 1_000));
      await notify(payload(now + 2_000));
      await bob.until((s) => s.length > 1, 'the next live signal');
      expect(bob.items.map((s) => s.expiresAt.getTime())).toEqual([now + 1_000, now + 2_000]);
      stop();
    });

    it('rate-limits per user and conversation with a typed error, sending nothing for it', async () => {
      const t = newTenant();
      const group = await f.createGroup(t.alice, ['bob']);
      const other = await f.createGroup(t.alice, ['bob']);
      const node = await f.newNode();
      const bob = new Collected<TypingSignal>();
      const stop = node.typing.watch(t.bob, bob.push);
      for (let i = 0; i < 3; i++) await node.typing.typing(t.alice, group);
      const refused = await node.typing.typing(t.alice, group).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TypingRateLimitedError);
      expect((refused as TypingRateLimitedError).code).toBe('typing_rate_limited');
      expect((refused as TypingRateLimitedError).retryable).toBe(true);
      expect((refused as TypingRateLimitedError).retryAfterMs).toBeGreaterThan(0);
      // Another conversation, and another user, have their own allowance.
      await node.typing.typing(t.alice, other);
      await node.typing.typing(t.bob, group);
      await bob.until((s) => s.length === 5, 'the allowed signals');
      await new Promise((r) => setTimeout(r, 50));
      expect(bob.items.map((s) => [s.userId, s.conversationId])).toEqual([
        ['alice', group],
        ['alice', group],
        ['alice', group],
        ['alice', other],
        ['bob', group],
      ]);
      stop();
    });

    it('refuses non-members, services, bad ids and callers without the permission', async () => {
      const t = newTenant();
      // The auditor is a member, but their role grants no presence.read or presence.write.
      const group = await f.createGroup(t.alice, ['bob', t.auditor.id]);
      const node = await f.newNode();
      await expect(node.typing.typing(t.carol, group)).rejects.toBeInstanceOf(
        TypingConversationNotFoundError,
      );
      await expect(node.typing.typing(t.carol, randomUUID())).rejects.toBeInstanceOf(
        TypingConversationNotFoundError,
      );
      await expect(node.typing.typing(t.backend, group)).rejects.toBeInstanceOf(PresenceRefused);
      await expect(node.typing.typing(t.alice, 'no spaces allowed')).rejects.toBeInstanceOf(
        InvalidPresenceInput,
      );
      await expect(node.typing.typing(t.auditor, group)).rejects.toBeInstanceOf(AccessDeniedError);
      await expect(node.typing.authorizeWatch(t.auditor)).rejects.toBeInstanceOf(AccessDeniedError);
      // Watching without the permission receives nothing (the gateway watches for everyone).
      const auditorSees = new Collected<TypingSignal>();
      const bobSees = new Collected<TypingSignal>();
      const stops = [
        node.typing.watch(t.auditor, auditorSees.push),
        node.typing.watch(t.bob, bobSees.push),
      ];
      await node.typing.typing(t.alice, group);
      await bobSees.until((s) => s.length > 0, 'bob sees alice typing');
      expect(auditorSees.items).toEqual([]);
      for (const stop of stops) stop();
      await expect(node.typing.authorizeWatch(t.carol, group)).rejects.toBeInstanceOf(
        TypingConversationNotFoundError,
      );
      await expect(node.typing.authorizeWatch(t.bob, group)).resolves.toBeUndefined();
      await expect(node.typing.authorizeWatch(t.backend, group)).resolves.toBeUndefined();
    });
  });
}
