import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  availableDatabases,
  devToken,
  graphqlRequest,
  openTestDatabase,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';
import { RealtimeTestClient, type ServerFrame } from './testing/realtime-test-client';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Clients that keep well under the request limits are never refused, whatever the database does
// to the server's event loop. Three users each send 20 messages a second (the defaults allow 50
// per connection and 100 per user) to one group for a few seconds, on the compiled server in its
// own process, so the clients keep their pace while the server works. On the embedded database
// PGlite's queries run on the server's main thread and hold its event loop, and frames that the
// clients sent evenly are read off the socket in bunches: the limits must judge the client's
// pace, not the server's hiccups.

const TENANT = 'clinic-pace';
const USERS = ['alice', 'bob', 'carol'] as const;
const RATE_PER_USER = 20;
const SECONDS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(availableDatabases())(
  'realtime senders under the rate limits on a busy server (%s)',
  (kind) => {
    let db: TestDatabase | undefined;
    let dataDir: string;
    let server: ServerProcess;
    const clients: RealtimeTestClient[] = [];

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-realtime-pace-'));
      db = kind === 'postgres' ? await openTestDatabase('postgres') : undefined;
      server = await startServerProcess({
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
        LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
        ...(db ? { DATABASE_URL: db.url! } : {}),
      });
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.terminate()));
      await server?.stop();
      await db?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    it(`${USERS.length} users sending ${RATE_PER_USER} messages/s each for ${SECONDS} s are never rate_limited`, async () => {
      const tokens = await Promise.all(
        USERS.map((userId) => devToken(server.url, { tenantId: TENANT, userId })),
      );
      const created = await graphqlRequest<{
        createGroupConversation: { conversationId: string };
      }>(
        server.url,
        tokens[0]!,
        `mutation($input: CreateGroupConversationInput!) { createGroupConversation(input: $input) { conversationId } }`,
        {
          input: {
            title: 'Ward 9',
            members: USERS.slice(1).map((id) => ({ id, kind: 'USER', role: 'MEMBER' })),
          },
        },
      );
      const groupId = created.createGroupConversation.conversationId;
      for (const [i, userId] of USERS.entries()) {
        const client = await RealtimeTestClient.hello(userId, server.url, {
          token: tokens[i]!,
          deviceId: `${userId}-phone`,
        });
        clients.push(client);
        expect(
          await client.request('sync', {
            conversations: [{ conversationId: groupId, revision: -1 }],
            discover: false,
          }),
        ).toMatchObject({ ok: true });
      }

      // Each sender keeps its own clock: message n leaves at start + n / rate, never earlier, so
      // no client ever exceeds its rate, whatever the server does.
      const perSender = RATE_PER_USER * SECONDS;
      const replies = await Promise.all(
        clients.map(async (client) => {
          const sent: Promise<ServerFrame>[] = [];
          const start = performance.now();
          for (let n = 0; n < perSender; n++) {
            const due = start + (n * 1000) / RATE_PER_USER;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
            sent.push(
              client.request('send', {
                conversationId: groupId,
                clientMessageId: `${client.name}-${n}`,
                text: `paced ${n}`,
              }),
            );
          }
          return Promise.all(sent);
        }),
      );

      // Never rate_limited. A server that cannot keep up (PGlite on a busy machine) may answer
      // `busy` when a connection has too many sends in flight: that is back-pressure, which a
      // client answers by sending again, one at a time, with the same clientMessageId.
      const refused = replies.flat().filter((r) => !r.ok);
      expect(refused.filter((r) => r.error?.code !== 'busy')).toEqual([]);
      for (const [c, client] of clients.entries()) {
        for (const [n, reply] of replies[c]!.entries()) {
          if (reply.ok) continue;
          const again = await client.request('send', {
            conversationId: groupId,
            clientMessageId: `${client.name}-${n}`,
            text: `paced ${n}`,
          });
          expect(again).toMatchObject({ ok: true });
        }
      }
      // And everyone received every message, once.
      const total = 1 + USERS.length * perSender;
      for (const client of clients) {
        const events = await client.eventsOf(groupId, total);
        expect(new Set(events.map((e) => e.eventId)).size).toBe(total);
      }
    }, 120_000);
  },
);
