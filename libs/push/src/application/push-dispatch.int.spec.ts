import { randomUUID } from 'node:crypto';
import type { Principal } from '@ledgerline/identity';
import { conversationStreamId, encodeConversationEvent } from '@ledgerline/conversations';
import type { SqlExecutor } from '@ledgerline/database';
import { comparePositions } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import { InvalidPushInput, PushDeviceNotFoundError } from '../domain/push.errors';
import { LogPushProvider } from '../adapters/log-push-provider.adapter';
import {
  apnsToken,
  newTenant,
  openPushFixture,
  PUSH_CANARY,
  type PushFixture,
} from '../testing/push-fixture';
import { pushProjection } from '../projections/push.projection';
import { PushForServicesRefusedError } from './push.errors';

class RolledBack extends Error {}

jest.setTimeout(120_000);

for (const kind of availableDatabases()) {
  describe(`push: devices, preferences and dispatch (${kind})`, () => {
    let x: PushFixture;
    beforeAll(async () => {
      x = await openPushFixture(kind);
    });
    afterAll(async () => {
      await x?.close();
    });

    const register = async (user: Principal, token = apnsToken()) => {
      const result = await x.push.execute(user, {
        type: 'RegisterDevice',
        data: { platform: 'apns', environment: 'sandbox', appId: 'org.example.ward', token },
      });
      await x.caughtUp(result.position);
      const event = result.events[0];
      if (event?.type !== 'PushDeviceRegistered') throw new Error('not registered');
      return { deviceId: event.data.deviceId, token };
    };

    /** A group of `owner` and `members`, titled with the canary (a title can itself be PHI). */
    const group = async (owner: Principal, members: readonly string[]) => {
      const conversationId = randomUUID();
      const result = await x.conversations.execute(owner, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title: `${PUSH_CANARY} title`,
          members: members.map((id) => ({ id, kind: 'user' as const, role: 'member' as const })),
        },
      });
      await x.caughtUp(result.position);
      return conversationId;
    };

    const send = async (from: Principal, conversationId: string, text = `${PUSH_CANARY} text`) => {
      const result = await x.conversations.execute(from, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: randomUUID(), text },
      });
      await x.caughtUp(result.position);
      return result;
    };

    const pushesTo = (token: string) => x.apns.received.items.filter((r) => r.token === token);

    describe('devices', () => {
      it('registers a device, lists it for its owner only, and keeps the token out of the read model', async () => {
        const t = newTenant();
        const { deviceId, token } = await register(t.alice);
        expect(await x.queries.devices(t.alice)).toEqual([
          expect.objectContaining({
            deviceId,
            platform: 'apns',
            environment: 'sandbox',
            appId: 'org.example.ward',
          }),
        ]);
        expect(await x.queries.devices(t.bob)).toEqual([]);
        const rows = await x.f.db.client.query(
          `select * from ll_push_devices where tenant_id = $1`,
          [t.tenantId],
        );
        expect(JSON.stringify(rows)).not.toContain(token);
        // Sealed in the log as well: the event's stored bytes do not hold the token.
        const stored = await x.f.db.client.query<{ data: Uint8Array; metadata: unknown }>(
          `select data, metadata from ll_events where tenant_id = $1 and type = 'PushDeviceRegistered'`,
          [t.tenantId],
        );
        expect(stored).toHaveLength(1);
        expect(Buffer.from(stored[0]!.data).toString('latin1')).not.toContain(token);
        expect(JSON.stringify(stored[0]!.metadata)).not.toContain(token);
      });

      it('registering the same token again changes nothing', async () => {
        const t = newTenant();
        const { token } = await register(t.alice);
        const again = await x.push.execute(t.alice, {
          type: 'RegisterDevice',
          data: {
            platform: 'apns',
            environment: 'sandbox',
            appId: 'org.example.ward',
            token: token.toUpperCase(),
          },
        });
        expect(again.events).toEqual([]);
        expect(await x.queries.devices(t.alice)).toHaveLength(1);
      });

      it.each([
        ['apns', 'not-hex-at-all-'.repeat(5)],
        ['apns', 'ab'.repeat(16)],
        ['apns', 'abc'.repeat(31)],
        ['fcm', 'has spaces and ! marks'.repeat(3)],
        ['fcm', 'short'],
        ['apns', `fcmlike:APA91b${'x'.repeat(100)}`],
        ['fcm', 'x'.repeat(5000)],
      ] as const)(
        'refuses a %s token of the wrong shape and appends nothing',
        async (platform, token) => {
          const t = newTenant();
          await expect(
            x.push.execute(t.alice, {
              type: 'RegisterDevice',
              data: { platform, environment: 'production', appId: 'org.example.ward', token },
            }),
          ).rejects.toBeInstanceOf(InvalidPushInput);
          const events = await x.f.db.client.query(`select 1 from ll_events where tenant_id = $1`, [
            t.tenantId,
          ]);
          expect(events).toHaveLength(0);
        },
      );

      it('refuses a malformed app id, platform or environment', async () => {
        const t = newTenant();
        for (const data of [
          { platform: 'apns', environment: 'sandbox', appId: '../etc', token: apnsToken() },
          { platform: 'windows', environment: 'sandbox', appId: 'a.b', token: apnsToken() },
          { platform: 'apns', environment: 'staging', appId: 'a.b', token: apnsToken() },
        ]) {
          await expect(
            x.push.execute(t.alice, { type: 'RegisterDevice', data: data as never }),
          ).rejects.toBeInstanceOf(InvalidPushInput);
        }
      });

      it('lets nobody remove another user’s device: NOT_FOUND, and the device stays', async () => {
        const t = newTenant();
        const { deviceId } = await register(t.alice);
        await expect(
          x.push.execute(t.bob, { type: 'UnregisterDevice', data: { deviceId, reason: 'user' } }),
        ).rejects.toBeInstanceOf(PushDeviceNotFoundError);
        expect(await x.queries.devices(t.alice)).toHaveLength(1);
        const removed = await x.push.execute(t.alice, {
          type: 'UnregisterDevice',
          data: { deviceId, reason: 'user' },
        });
        await x.caughtUp(removed.position);
        expect(await x.queries.devices(t.alice)).toEqual([]);
      });

      it('a token registered by another user (a shared phone) moves to them', async () => {
        const t = newTenant();
        const token = apnsToken();
        await register(t.alice, token);
        await register(t.bob, token);
        expect(await x.queries.devices(t.alice)).toEqual([]);
        expect(await x.queries.devices(t.bob)).toHaveLength(1);
      });

      it('services have no devices', async () => {
        const t = newTenant();
        await expect(
          x.push.execute(t.backend, {
            type: 'RegisterDevice',
            data: { platform: 'apns', environment: 'sandbox', appId: 'a.b', token: apnsToken() },
          }),
        ).rejects.toBeInstanceOf(PushForServicesRefusedError);
        await expect(x.queries.devices(t.backend)).rejects.toBeInstanceOf(
          PushForServicesRefusedError,
        );
      });
    });

    describe('preferences', () => {
      it('mutes until a time or for good, and do-not-disturb, as settings show', async () => {
        const t = newTenant();
        const until = new Date(x.f.clock.now().getTime() + 3_600_000);
        await x.caughtUp(
          (
            await x.push.execute(t.alice, {
              type: 'MuteConversation',
              data: { conversationId: 'c-1', until },
            })
          ).position,
        );
        await x.caughtUp(
          (
            await x.push.execute(t.alice, {
              type: 'MuteConversation',
              data: { conversationId: 'c-2' },
            })
          ).position,
        );
        await x.caughtUp(
          (await x.push.execute(t.alice, { type: 'SetDoNotDisturb', data: {} })).position,
        );
        const settings = await x.queries.settings(t.alice);
        expect(settings.doNotDisturb).toBe(true);
        expect(settings.mutes).toEqual([
          { conversationId: 'c-1', until },
          { conversationId: 'c-2', until: null },
        ]);
        expect([...(await x.queries.mutedConversations(t.tenantId, 'alice'))].sort()).toEqual([
          'c-1',
          'c-2',
        ]);
        expect(await x.queries.mutedConversations(t.tenantId, 'bob')).toEqual(new Set());
        await x.caughtUp(
          (
            await x.push.execute(t.alice, {
              type: 'UnmuteConversation',
              data: { conversationId: 'c-2' },
            })
          ).position,
        );
        await x.caughtUp(
          (await x.push.execute(t.alice, { type: 'ClearDoNotDisturb', data: {} })).position,
        );
        const after = await x.queries.settings(t.alice);
        expect(after).toEqual({
          doNotDisturb: false,
          doNotDisturbUntil: null,
          mutes: [{ conversationId: 'c-1', until }],
        });
      });

      it('refuses a mute that ends in the past or a malformed conversation id', async () => {
        const t = newTenant();
        await expect(
          x.push.execute(t.alice, {
            type: 'MuteConversation',
            data: { conversationId: 'c-1', until: new Date(x.f.clock.now().getTime() - 1) },
          }),
        ).rejects.toMatchObject({ problem: 'in_the_past' });
        await expect(
          x.push.execute(t.alice, {
            type: 'MuteConversation',
            data: { conversationId: 'no spaces' },
          }),
        ).rejects.toBeInstanceOf(InvalidPushInput);
      });
    });

    describe('dispatch', () => {
      it('pushes each offline member’s device once per message: not the sender’s, not an online member’s, and no PHI anywhere', async () => {
        const t = newTenant();
        const alice = await register(t.alice);
        const bob = await register(t.bob);
        const carol = await register(t.carol);
        await x.connections.open(
          { nodeId: 'n1', connectionId: randomUUID() },
          { tenantId: t.tenantId, userId: 'carol', userKind: 'user' },
          x.f.clock.now(),
        );
        const conversationId = await group(t.alice, ['bob', 'carol']);
        const sent = await send(t.alice, conversationId);
        const dispatcher = x.newDispatcher();
        await dispatcher.drain();
        expect(pushesTo(bob.token)).toHaveLength(1);
        expect(pushesTo(carol.token)).toHaveLength(0);
        expect(pushesTo(alice.token)).toHaveLength(0);
        const body = JSON.parse(pushesTo(bob.token)[0]!.body) as {
          aps: { alert: unknown };
          ll: Record<string, unknown>;
        };
        expect(body.ll).toEqual({
          kind: 'message',
          conversationId,
          count: 1,
          id: expect.any(String) as unknown,
        });
        expect(body.aps.alert).toEqual({ title: 'New message', body: 'You have a new message' });
        // Nothing sent, recorded or reported carries the text or the title.
        expect(JSON.stringify(x.apns.received.items)).not.toContain(PUSH_CANARY);
        expect(JSON.stringify(x.accessLog.records)).not.toContain(PUSH_CANARY);
        expect(JSON.stringify(x.reports)).not.toContain(PUSH_CANARY);
        const record = x.accessLog.records.find(
          (r) =>
            r.action === 'push.sent' &&
            r.subjectUserIds.includes('bob') &&
            r.tenantId === t.tenantId,
        );
        expect(record).toMatchObject({
          outcome: 'allowed',
          conversationId,
          targetIds: expect.arrayContaining([bob.deviceId, sent.eventIds[0]]) as unknown,
        });
        // Sent is sent: the outbox is empty and a second round sends nothing.
        await dispatcher.drain();
        expect(pushesTo(bob.token)).toHaveLength(1);
      });

      it('pushes an FCM device as a data message, with no text, title or name in it', async () => {
        const t = newTenant();
        const token = `${randomUUID().replace(/-/g, '')}:APA91b${'x'.repeat(120)}`;
        const registered = await x.push.execute(t.bob, {
          type: 'RegisterDevice',
          data: { platform: 'fcm', environment: 'production', appId: 'org.example.ward', token },
        });
        await x.caughtUp(registered.position);
        const conversationId = await group(t.alice, ['bob']);
        await send(t.alice, conversationId);
        await x.newDispatcher().drain();
        const received = x.fcm.received.items.filter((r) => r.token === token);
        expect(received).toHaveLength(1);
        const message = (JSON.parse(received[0]!.body) as { message: Record<string, unknown> })
          .message;
        expect(message['notification']).toBeUndefined();
        expect(message['data']).toMatchObject({ kind: 'message', conversationId, count: '1' });
        expect(JSON.stringify(x.fcm.received.items)).not.toContain(PUSH_CANARY);
      });

      it('removes an FCM device the provider reports UNREGISTERED', async () => {
        const t = newTenant();
        const token = `${randomUUID().replace(/-/g, '')}:APA91b${'y'.repeat(120)}`;
        x.fcm.script(token, 'UNREGISTERED');
        const registered = await x.push.execute(t.bob, {
          type: 'RegisterDevice',
          data: { platform: 'fcm', environment: 'production', appId: 'org.example.ward', token },
        });
        await x.caughtUp(registered.position);
        await send(t.alice, await group(t.alice, ['bob']));
        await x.newDispatcher().drain();
        const [event] = await x.f.ledger.readStream(`push:${t.tenantId}:bob`, {
          direction: 'backwards',
          maxCount: 1,
        });
        expect(event!.type).toBe('PushDeviceUnregistered');
        await x.caughtUp(event!.position);
        expect(await x.queries.devices(t.bob)).toEqual([]);
        expect(
          x.accessLog.records.find(
            (r) => r.tenantId === t.tenantId && r.action === 'push.given_up',
          ),
        ).toMatchObject({ reason: 'registration-token-not-registered' });
      });

      it('the log provider and the dispatcher log ids and counts: no text, title, name or token', async () => {
        const t = newTenant();
        const bob = await register(t.bob);
        const conversationId = await group(t.alice, ['bob']);
        await send(t.alice, conversationId);
        const lines: Record<string, unknown>[] = [];
        const log = new LogPushProvider({ log: (fields) => lines.push(fields) });
        await x.newDispatcher({ providers: { apns: log, fcm: log } }).drain();
        expect(lines).toEqual([
          expect.objectContaining({ deviceId: bob.deviceId, conversationId, count: 1 }),
        ]);
        const logged = JSON.stringify([lines, x.logLines]);
        expect(logged).not.toContain(PUSH_CANARY);
        expect(logged).not.toContain(bob.token);
      });

      it('coalesces a burst into one push per device, with its count; a mention is said so', async () => {
        const t = newTenant();
        const bob = await register(t.bob);
        const conversationId = await group(t.alice, ['bob']);
        for (let i = 0; i < 4; i++) await send(t.alice, conversationId);
        await send(t.alice, conversationId, 'ping <@bob>');
        await x.newDispatcher().drain();
        const pushes = pushesTo(bob.token);
        expect(pushes).toHaveLength(1);
        const body = JSON.parse(pushes[0]!.body) as {
          aps: { alert: { body: string } };
          ll: Record<string, unknown>;
        };
        expect(body.ll).toMatchObject({ kind: 'mention', count: 5 });
        expect(body.aps.alert.body).toBe('You were mentioned 5 times');
      });

      it('a burst applied as one batch queues exactly what one message at a time queues', async () => {
        const t = newTenant();
        await register(t.alice);
        await register(t.bob);
        await register(t.carol);
        const one = await group(t.alice, ['bob', 'carol']);
        const two = await group(t.bob, ['alice', 'carol']);
        await x.caughtUp(
          (
            await x.push.execute(t.carol, {
              type: 'MuteConversation',
              data: { conversationId: two },
            })
          ).position,
        );
        const senders = [t.alice, t.bob, t.carol];
        const sent = await Promise.all(
          Array.from({ length: 18 }, (_, i) =>
            x.conversations.execute(senders[i % 3]!, {
              type: 'SendMessage',
              data: {
                conversationId: i % 2 === 0 ? one : two,
                clientMessageId: randomUUID(),
                text: i % 5 === 0 ? 'ping <@carol> <@bob>' : `${PUSH_CANARY} ${i}`,
              },
            }),
          ),
        );
        for (const r of sent) await x.caughtUp(r.position);
        // Both conversations' events in $all order: the creations break the runs of sends.
        const events = (
          await Promise.all(
            [one, two].map((c) => x.f.ledger.readStream(conversationStreamId(t.tenantId, c))),
          )
        )
          .flat()
          .sort((a, b) => comparePositions(a.position, b.position));
        const projection = pushProjection();
        /** The tenant's outbox after applying the events to an empty outbox (rolled back). */
        const outboxAfter = async (apply: (tx: SqlExecutor) => Promise<void>) => {
          let rows: unknown[] = [];
          await x.f.db.client
            .transaction(async (tx) => {
              await tx.query('delete from ll_push_outbox where tenant_id = $1', [t.tenantId]);
              await apply(tx);
              rows = await tx.query(
                `select push_id, device_id, user_id, conversation_id, kind, event_count,
                   first_event_id, last_event_id, event_at, next_attempt_at
                 from ll_push_outbox where tenant_id = $1 order by push_id`,
                [t.tenantId],
              );
              throw new RolledBack();
            })
            .catch((error: unknown) => {
              // The client wraps what is not its own error; the rollback is the point.
              const cause = error instanceof Error ? error.cause : undefined;
              if (!(error instanceof RolledBack) && !(cause instanceof RolledBack)) throw error;
            });
          return rows;
        };
        const batched = await outboxAfter((tx) => projection.applyBatch!(tx, events));
        const oneByOne = await outboxAfter(async (tx) => {
          for (const event of events) await projection.apply(tx, event);
        });
        expect(batched).toEqual(oneByOne);
        // Carol muted the second conversation: her device is queued for the first only.
        expect(batched.length).toBe(5);
        expect(batched).toContainEqual(expect.objectContaining({ kind: 'mention' }));
      });

      it('a muted conversation, or do-not-disturb, pushes nothing', async () => {
        const t = newTenant();
        const bob = await register(t.bob);
        const carol = await register(t.carol);
        const conversationId = await group(t.alice, ['bob', 'carol']);
        await x.caughtUp(
          (await x.push.execute(t.bob, { type: 'MuteConversation', data: { conversationId } }))
            .position,
        );
        await x.caughtUp(
          (await x.push.execute(t.carol, { type: 'SetDoNotDisturb', data: {} })).position,
        );
        await send(t.alice, conversationId);
        await x.newDispatcher().drain();
        expect(pushesTo(bob.token)).toHaveLength(0);
        expect(pushesTo(carol.token)).toHaveLength(0);
        // A mute that ended no longer silences.
        await x.caughtUp(
          (await x.push.execute(t.bob, { type: 'UnmuteConversation', data: { conversationId } }))
            .position,
        );
        await send(t.alice, conversationId);
        await x.newDispatcher().drain();
        expect(pushesTo(bob.token)).toHaveLength(1);
      });

      it('removes a device whose token APNs reports Unregistered (410), and records the give-up', async () => {
        const t = newTenant();
        const bob = await register(t.bob);
        x.apns.script(bob.token, { status: 410, reason: 'Unregistered' });
        const conversationId = await group(t.alice, ['bob']);
        await send(t.alice, conversationId);
        await x.newDispatcher().drain();
        const [event] = await x.f.ledger.readStream(`push:${t.tenantId}:bob`, {
          direction: 'backwards',
          maxCount: 1,
        });
        await x.caughtUp(event!.position);
        expect(event!.type).toBe('PushDeviceUnregistered');
        expect(await x.queries.devices(t.bob)).toEqual([]);
        expect(
          x.accessLog.records.find(
            (r) => r.tenantId === t.tenantId && r.action === 'push.given_up',
          ),
        ).toMatchObject({
          outcome: 'failed',
          reason: 'Unregistered',
          targetIds: expect.arrayContaining([bob.deviceId]) as unknown,
        });
      });

      it('retries a throttled push after a back-off, and gives up when attempts run out', async () => {
        const t = newTenant();
        const bob = await register(t.bob);
        const carol = await register(t.carol);
        x.apns.script(bob.token, { status: 429, reason: 'TooManyRequests' });
        x.apns.script(
          carol.token,
          { status: 500, reason: 'InternalServerError' },
          { status: 503, reason: 'ServiceUnavailable' },
          { status: 500, reason: 'InternalServerError' },
        );
        const conversationId = await group(t.alice, ['bob', 'carol']);
        await send(t.alice, conversationId);
        const dispatcher = x.newDispatcher();
        await dispatcher.drain();
        expect(pushesTo(bob.token).map((r) => r.status)).toEqual([429]);
        // Not due yet: nothing goes out.
        await dispatcher.drain();
        expect(pushesTo(bob.token)).toHaveLength(1);
        for (let attempt = 0; attempt < 3; attempt++) {
          x.f.clock.advance(120_000);
          await dispatcher.drain();
        }
        expect(pushesTo(bob.token).map((r) => r.status)).toEqual([429, 200]);
        expect(pushesTo(carol.token).map((r) => r.status)).toEqual([500, 503, 500]);
        expect(
          x.accessLog.records.find(
            (r) => r.tenantId === t.tenantId && r.action === 'push.given_up',
          ),
        ).toMatchObject({
          reason: 'retries_exhausted:http_500', // node-apn reports a 500 without its body
          subjectUserIds: ['carol'],
        });
        expect(await x.queries.devices(t.carol)).toHaveLength(1); // a server error is not a dead token
        x.f.clock.set(new Date());
      });

      // 10,000 messages through the projections take minutes on the embedded database's one
      // connection; the burst's semantics are the same on both, so it runs on PostgreSQL when
      // there is one (CI) and on PGlite otherwise.
      const burstOn = availableDatabases().includes('postgres') ? 'postgres' : 'pglite';
      (kind === burstOn ? it : it.skip)(
        `a burst of 10,000 messages to a group keeps one outbox row per device, sends one push each, and claims at most a batch at a time${kind === burstOn ? '' : ` [runs on ${burstOn} only]`}`,
        async () => {
          const t = newTenant();
          const members = Array.from({ length: 20 }, (_, i) => `m${i}`);
          const tokens = new Map<string, string>();
          for (const id of members) {
            tokens.set(id, (await register({ ...t.alice, id })).token);
          }
          const conversationId = await group(t.alice, members);
          // The messages are appended as the decider would write them, 250 to an append, so the
          // test spends its time in the projection and the dispatcher, not in 10,000 round trips.
          const streamId = conversationStreamId(t.tenantId, conversationId);
          let position;
          for (let sequence = 1; sequence <= 10_000; sequence += 250) {
            const events = Array.from({ length: 250 }, (_, i) =>
              encodeConversationEvent(
                {
                  type: 'MessageSent',
                  v: 1,
                  data: {
                    tenantId: t.tenantId,
                    conversationId,
                    actor: { id: 'alice', kind: 'user' },
                    at: x.f.clock.now().toISOString(),
                    messageId: randomUUID(),
                    clientMessageId: randomUUID(),
                    sequence: sequence + i,
                    text: `${PUSH_CANARY} ${sequence + i}`,
                    mentions: [],
                  },
                },
                randomUUID(),
              ),
            );
            position = (await x.f.ledger.append(t.tenantId, streamId, events, 'any')).position;
          }
          await x.caughtUp(position);
          const [rows] = await x.f.db.client.query<{ n: string; total: string }>(
            `select count(*)::text as n, sum(event_count)::text as total from ll_push_outbox where tenant_id = $1`,
            [t.tenantId],
          );
          expect(rows).toEqual({ n: '20', total: String(20 * 10_000) });
          const dispatcher = x.newDispatcher({ batchSize: 8 });
          const rounds: number[] = [];
          for (let n = await dispatcher.round(); n > 0; n = await dispatcher.round())
            rounds.push(n);
          expect(Math.max(...rounds)).toBeLessThanOrEqual(8);
          for (const token of tokens.values()) {
            const pushes = pushesTo(token);
            expect(pushes).toHaveLength(1);
            expect(JSON.parse(pushes[0]!.body)).toMatchObject({ ll: { count: 10_000 } });
          }
          expect(JSON.stringify(x.apns.received.items)).not.toContain(PUSH_CANARY);
        },
        600_000,
      );
    });
  });
}
