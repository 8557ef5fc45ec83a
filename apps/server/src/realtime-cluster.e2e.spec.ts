import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  TEST_DATABASE_URL,
  describeWhenEnv,
  devToken,
  graphqlRequest,
  openTestDatabase,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';
import {
  RealtimeTestClient,
  type EventFrame,
  type ServerFrame,
} from './testing/realtime-test-client';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Two server processes (the compiled server, as deployed) on one PostgreSQL database, real `ws`
// clients on both. Fan-out between them comes from the event store's subscription alone. PGlite
// is one process's database, so without TEST_DATABASE_URL this suite is reported as skipped.

const TENANT = 'clinic-cluster';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}
function position(token: string): Position {
  const [commit, prepare] = token.split('.').map(BigInt);
  return { commit: commit!, prepare: prepare! };
}
function after(a: Position, b: Position): boolean {
  return a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);
}

/** Sends, retrying with the same clientMessageId while the server answers a retryable error. */
async function sendReliably(
  client: RealtimeTestClient,
  fields: Record<string, unknown>,
  op = 'send',
): Promise<ServerFrame> {
  for (let attempt = 0; ; attempt++) {
    const reply = await client.request(op, fields);
    if (reply.ok) return reply;
    if (!reply.error?.retryable || attempt >= 30) {
      throw new Error(`${client.name} ${op}: ${JSON.stringify(reply.error)}`);
    }
    await sleep(20 * (attempt + 1));
  }
}

describeWhenEnv(
  'TEST_DATABASE_URL',
  'realtime across two server processes on one PostgreSQL',
  () => {
    let db: TestDatabase;
    let dataDir: string;
    let env: Record<string, string>;
    let appName: string;
    const servers: ServerProcess[] = [];
    const clients: RealtimeTestClient[] = [];
    let a: ServerProcess;
    let b: ServerProcess;

    async function connect(
      name: string,
      server: ServerProcess,
      userId: string,
      deviceId: string,
    ): Promise<RealtimeTestClient> {
      const client = await RealtimeTestClient.hello(name, server.url, {
        token: await devToken(server.url, { tenantId: TENANT, userId }),
        deviceId,
      });
      clients.push(client);
      return client;
    }

    async function createGroup(server: ServerProcess, owner: string, members: string[]) {
      const data = await graphqlRequest<{ createGroupConversation: { conversationId: string } }>(
        server.url,
        await devToken(server.url, { tenantId: TENANT, userId: owner }),
        `mutation($input: CreateGroupConversationInput!) { createGroupConversation(input: $input) { conversationId } }`,
        {
          input: {
            title: 'Ward 7',
            members: members.map((id) => ({ id, kind: 'USER', role: 'MEMBER' })),
          },
        },
      );
      return data.createGroupConversation.conversationId;
    }

    /** Every message of a conversation, oldest first, once the read models include `minPosition`. */
    async function history(conversationId: string, minPosition: string) {
      const bearer = await devToken(a.url, { tenantId: TENANT, userId: 'alice' });
      const all: { id: string; text: string | null }[] = [];
      let cursor = '0.0';
      const read = () =>
        graphqlRequest<{
          messages: {
            items: { id: string; text: string | null }[];
            hasMore: boolean;
            endCursor: string | null;
          };
        }>(
          a.url,
          bearer,
          `query($c: ID!, $after: String, $p: String) { messages(conversationId: $c, first: 100, after: $after, minPosition: $p) { items { id text } hasMore endCursor } }`,
          { c: conversationId, after: cursor, p: minPosition },
        );
      for (;;) {
        // On a loaded machine the read models may not reach minPosition within the server's wait:
        // the answer is a retryable `unavailable`, and a client asks again, as this does.
        let page: Awaited<ReturnType<typeof read>> | undefined;
        while (!page) {
          page = await read().catch((error: Error) => {
            if (!/"retryable":true/.test(error.message)) throw error;
            return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 250));
          });
        }
        all.push(...page.messages.items);
        if (!page.messages.hasMore || !page.messages.endCursor) return all;
        cursor = page.messages.endCursor;
      }
    }

    beforeAll(async () => {
      db = await openTestDatabase('postgres');
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-realtime-cluster-'));
      appName = `ll-rt-${randomBytes(4).toString('hex')}`;
      const url = new URL(db.url!);
      url.searchParams.set('application_name', appName);
      env = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        DATABASE_URL: url.toString(),
        // One key ring for both: each seals and opens the other's events.
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
        LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
        LEDGERLINE_SUBSCRIPTION_POLL_MS: '200',
        LEDGERLINE_REALTIME_RATE_PER_CONNECTION: '5000',
        LEDGERLINE_REALTIME_RATE_PER_USER: '10000',
      };
      a = await startServerProcess({ ...env, LEDGERLINE_NODE_ID: 'node-a' });
      servers.push(a);
      b = await startServerProcess({ ...env, LEDGERLINE_NODE_ID: 'node-b' });
      servers.push(b);
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.terminate()));
      for (const server of servers) await server.stop();
      await db?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    it('delivers sends, edits, reactions and receipts to five devices of three users on two nodes, each once and in order; a device dropped mid-burst resumes', async () => {
      const groupId = await createGroup(a, 'alice', ['bob', 'carol']);
      const devices = {
        alicePhone: await connect('alice-phone', a, 'alice', 'alice-phone'),
        aliceLaptop: await connect('alice-laptop', b, 'alice', 'alice-laptop'),
        bobPhone: await connect('bob-phone', a, 'bob', 'bob-phone'),
        bobTablet: await connect('bob-tablet', b, 'bob', 'bob-tablet'),
        carolPhone: await connect('carol-phone', b, 'carol', 'carol-phone'),
      };
      for (const device of Object.values(devices)) {
        const synced = await device.request('sync', { discover: true });
        expect(synced).toMatchObject({
          ok: true,
          conversations: expect.arrayContaining([
            { conversationId: groupId, revision: 0, status: 'ok' },
          ]) as unknown,
        });
      }

      // A burst from three devices on both nodes; carol's phone drops in the middle of it.
      const senders = [devices.alicePhone, devices.bobTablet, devices.carolPhone];
      const perSender = 30;
      const acks: ServerFrame[] = [];
      const carolFirst = devices.carolPhone;
      let carolResumed: RealtimeTestClient | undefined;
      const burst = senders.map(async (sender, s) => {
        for (let i = 0; i < perSender; i++) {
          let from = sender;
          if (sender === carolFirst && carolResumed) from = carolResumed;
          if (sender === carolFirst && !carolResumed && i === 10) {
            // Dropped without a goodbye, after what it has received so far.
            await carolFirst.terminate();
            const seen = carolFirst.events(groupId);
            const last = seen[seen.length - 1]!.revision;
            carolResumed = await connect('carol-phone-again', a, 'carol', 'carol-phone');
            const resumed = await carolResumed.request('sync', {
              conversations: [{ conversationId: groupId, revision: last }],
              discover: false,
            });
            expect(resumed).toMatchObject({ conversations: [{ status: 'ok' }] });
            from = carolResumed;
          }
          acks.push(
            await sendReliably(from, {
              conversationId: groupId,
              clientMessageId: `s${s}-${i}`,
              text: `message ${s}-${i}`,
            }),
          );
        }
      });
      await Promise.all(burst);
      const firstMessage = acks.find((x) => x['clientMessageId'] === 's0-0')!;
      const edit = await sendReliably(
        devices.alicePhone,
        {
          conversationId: groupId,
          messageId: firstMessage['messageId'],
          text: 'edited on the phone',
        },
        'edit',
      );
      const reaction = await sendReliably(
        devices.bobTablet,
        { conversationId: groupId, messageId: firstMessage['messageId'], emoji: '👍' },
        'react',
      );
      const lastMessage = acks.reduce((l, x) =>
        after(position(x['position'] as string), position(l['position'] as string)) ? x : l,
      );
      const delivered = await sendReliably(
        carolResumed!,
        { conversationId: groupId, upToMessageId: lastMessage['messageId'] },
        'markDelivered',
      );
      const read = await sendReliably(
        carolResumed!,
        { conversationId: groupId, upToMessageId: lastMessage['messageId'] },
        'markRead',
      );
      for (const reply of [edit, reaction, delivered, read]) expect(reply['changed']).toBe(true);

      // 1 creation + 90 sends + edit + reaction + delivered + read.
      const total = 1 + senders.length * perSender + 4;
      expect(read['revision']).toBe(total - 1);
      const streams = new Map<string, EventFrame[]>();
      for (const [name, device] of Object.entries(devices)) {
        if (device === carolFirst) continue;
        streams.set(name, await device.eventsOf(groupId, total));
      }
      await carolResumed!.eventsOf(groupId, total - carolFirst.events(groupId).length);
      streams.set('carolPhone', [...carolFirst.events(groupId), ...carolResumed!.events(groupId)]);
      await sleep(300); // anything extra would have arrived by now

      const reference = streams.get('alicePhone')!;
      for (const [name, events] of streams) {
        const revisions = events.map((e) => e.revision);
        expect({ name, revisions }).toEqual({
          name,
          revisions: Array.from({ length: total }, (_, i) => i),
        });
        expect(events.map((e) => e.eventId)).toEqual(reference.map((e) => e.eventId));
        for (let i = 1; i < events.length; i++) {
          expect(after(position(events[i]!.position), position(events[i - 1]!.position))).toBe(
            true,
          );
        }
      }
      // Each acknowledged send is the event every device got at that revision.
      const byRevision = new Map(reference.map((e) => [e.revision, e]));
      for (const ack of acks) {
        expect(byRevision.get(ack['revision'] as number)).toMatchObject({
          kind: 'MessageSent',
          eventId: ack['eventId'],
          messageId: ack['messageId'],
          position: ack['position'],
        });
      }
      expect(reference.slice(-4).map((e) => e.kind)).toEqual([
        'MessageEdited',
        'ReactionAdded',
        'MessagesDelivered',
        'MessagesRead',
      ]);
      expect(reference[total - 2]).toMatchObject({ deviceId: 'carol-phone', actorId: 'carol' });
    }, 180_000);

    it('answers sends with a typed, retryable error while the database drops its connections, and loses nothing acknowledged', async () => {
      const groupId = await createGroup(a, 'alice', ['bob']);
      const sender = await connect('alice-db', a, 'alice', 'alice-db');
      const admin = new Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      const replies: ServerFrame[] = [];
      let dropping = true;
      const drops = (async () => {
        for (let i = 0; i < 10 && dropping; i++) {
          await admin.query(
            'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
            [appName],
          );
          await sleep(50);
        }
      })();
      const ids = Array.from({ length: 60 }, (_, i) => `db-${i}`);
      await Promise.all(
        ids.map(async (id) => {
          replies.push(
            await sender.request('send', {
              conversationId: groupId,
              clientMessageId: id,
              text: id,
            }),
          );
        }),
      );
      dropping = false;
      await drops;
      await admin.end();

      // Every answer was an ack or a typed error that says to retry: never internal, never a refusal.
      for (const reply of replies) {
        if (reply.ok) continue;
        expect(reply.error).toMatchObject({ retryable: true });
        expect(['unavailable', 'conflict']).toContain(reply.error!.code);
      }
      // Retrying the failed ones with the same clientMessageId: each message exactly once.
      const acked = new Map<string, ServerFrame>();
      for (const reply of replies)
        if (reply.ok) acked.set(reply['clientMessageId'] as string, reply);
      for (const id of ids) {
        const ack = await sendReliably(sender, {
          conversationId: groupId,
          clientMessageId: id,
          text: id,
        });
        if (acked.has(id)) {
          expect(ack).toMatchObject({ duplicate: true, messageId: acked.get(id)!['messageId'] });
        }
        acked.set(id, ack);
      }
      const newest = [...acked.values()].reduce((l, x) =>
        after(position(x['position'] as string), position(l['position'] as string)) ? x : l,
      );
      const messages = await history(groupId, newest['position'] as string);
      expect(messages.map((m) => m.text).sort()).toEqual([...ids].sort());
      for (const [id, ack] of acked) {
        expect(messages.filter((m) => m.id === ack['messageId'])).toEqual([
          { id: ack['messageId'], text: id },
        ]);
      }
    }, 120_000);

    it('loses no acknowledged send when a node is SIGKILLed mid-burst of 2,000, and resending every unacknowledged one duplicates nothing', async () => {
      const groupId = await createGroup(a, 'alice', ['bob']);
      const watcher = await connect('bob-watch', a, 'bob', 'bob-watch');
      await watcher.request('sync', {
        conversations: [{ conversationId: groupId, revision: -1 }],
        discover: false,
      });
      const sender = await connect('alice-burst', b, 'alice', 'alice-burst');
      const ids = Array.from({ length: 2_000 }, (_, i) => `k-${i}`);
      const acked = new Map<string, ServerFrame>();
      let next = 0;
      let pumping = true;
      const pump = async () => {
        while (next < ids.length && pumping) {
          const id = ids[next++]!;
          const reply = await sender.request('send', {
            conversationId: groupId,
            clientMessageId: id,
            text: id,
          });
          if (reply.ok) acked.set(id, reply);
          if (acked.size >= 400) pumping = false;
        }
      };
      await Promise.all(Array.from({ length: 32 }, pump));

      // Its acks stop arriving (the client reads no more) while its sends go on being appended: the
      // acks of what is appended from here are lost with the node.
      sender.socket.pause();
      const fired = ids.slice(next, next + 300);
      for (const id of fired) {
        sender.sendRaw(
          JSON.stringify({
            v: 1,
            op: 'send',
            ref: id,
            conversationId: groupId,
            clientMessageId: id,
            text: id,
          }),
        );
      }
      next += fired.length;
      const committedUnacked = fired.slice(0, 50);
      await watcher.waitFor(
        (f) => f.type === 'event' && f['text'] === committedUnacked[committedUnacked.length - 1],
        60_000,
      );
      expect(await b.stop('SIGKILL')).toBeNull(); // killed by the signal, no exit code
      await sender.terminate();
      const unacked = ids.filter((id) => !acked.has(id));
      expect(unacked.length).toBe(ids.length - acked.size);

      // The node comes back; the client resends everything it has no ack for, same ids.
      b = await startServerProcess({ ...env, LEDGERLINE_NODE_ID: 'node-b' });
      servers.push(b);
      const resender = await connect('alice-resend', b, 'alice', 'alice-burst');
      let duplicates = 0;
      const queue = [...unacked];
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
            const ack = await sendReliably(resender, {
              conversationId: groupId,
              clientMessageId: id,
              text: id,
            });
            if (ack['duplicate']) duplicates += 1;
            acked.set(id, ack);
          }
        }),
      );
      expect(acked.size).toBe(ids.length);
      // Those appended before the kill, their acks lost, were answered with the original message.
      expect(duplicates).toBeGreaterThanOrEqual(committedUnacked.length);

      const newest = [...acked.values()].reduce((l, x) =>
        x['position'] !== null &&
        after(position(x['position'] as string), position(l['position'] as string))
          ? x
          : l,
      );
      const messages = await history(groupId, newest['position'] as string);
      expect(messages).toHaveLength(ids.length);
      expect(new Set(messages.map((m) => m.text)).size).toBe(ids.length);
      const idOf = new Map(messages.map((m) => [m.text!, m.id]));
      for (const [id, ack] of acked) expect(idOf.get(id)).toBe(ack['messageId']);
      expect(duplicates).toBeLessThanOrEqual(fired.length);

      // The device on the surviving node saw every message once, in order.
      const events = await watcher.eventsOf(groupId, ids.length + 1, 120_000);
      expect(events.map((e) => e.revision)).toEqual(
        Array.from({ length: ids.length + 1 }, (_, i) => i),
      );
      expect(new Set(events.slice(1).map((e) => e.text)).size).toBe(ids.length);
    }, 300_000);
  },
);
