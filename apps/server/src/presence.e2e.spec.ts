import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, GraphQLClient } from 'graphql-request';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Principal } from '@ledgerline/identity';
import { loadConfig } from '@ledgerline/kernel';
import { PresenceService } from '@ledgerline/presence';
import {
  Arrivals,
  probeUntilLive,
  availableDatabases,
  clientHeaders,
  devToken,
  openTestDatabase,
  type TestDatabase,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';
import { startServer, type RunningServer } from './bootstrap';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Boots the whole server in this process (real HTTP, real graphql-ws, real database) and talks to
// it with the clients a web app uses. Presence connections are opened and closed by calling the
// server's own PresenceService exactly as the realtime gateway does on each WebSocket's open and
// close (realtime.e2e.spec.ts covers that path with real sockets); here it keeps the GraphQL side
// free of the realtime protocol.

const GRACE_MS = 300;
const TENANT = 'clinic-e2e';

const PRESENCE = /* GraphQL */ `
  query Presence($userId: ID!) {
    presence(userId: $userId) {
      userId
      status
      since
      lastSeenAt
      position
    }
  }
`;
const SET_PRESENCE = /* GraphQL */ `
  mutation SetPresence($status: SettablePresenceStatus!) {
    setPresence(status: $status) {
      userId
      status
    }
  }
`;
const SEND_TYPING = /* GraphQL */ `
  mutation SendTyping($conversationId: ID!) {
    sendTyping(conversationId: $conversationId) {
      conversationId
      userId
      expiresAt
    }
  }
`;
const PRESENCE_CHANGED = /* GraphQL */ `
  subscription {
    presenceChanged {
      userId
      status
      lastSeenAt
      position
    }
  }
`;
const TYPING = /* GraphQL */ `
  subscription Typing($conversationId: ID) {
    typing(conversationId: $conversationId) {
      conversationId
      userId
      expiresAt
    }
  }
`;
const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
      position
    }
  }
`;
const CONVERSATIONS = /* GraphQL */ `
  query Conversations($minPosition: String) {
    conversations(minPosition: $minPosition) {
      items {
        id
      }
    }
  }
`;

interface PresenceBody {
  userId: string;
  status: 'ONLINE' | 'AWAY' | 'OFFLINE';
  since?: string | null;
  lastSeenAt: string | null;
  position: string | null;
}
interface TypingBody {
  conversationId: string;
  userId: string;
  expiresAt: string;
}
interface EdgeErrorBody {
  message: string;
  extensions?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Caller {
  readonly http: GraphQLClient;
  constructor(
    readonly principal: Principal,
    readonly url: string,
    readonly token: string,
  ) {
    this.http = new GraphQLClient(`${url}/graphql`, { headers: clientHeaders(token) });
  }

  request<T>(document: string, variables?: Record<string, unknown>): Promise<T> {
    return this.http.request<T>(document, variables);
  }

  async errors(document: string, variables?: Record<string, unknown>): Promise<EdgeErrorBody[]> {
    const outcome: unknown = await this.http.request(document, variables).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(outcome instanceof ClientError))
      throw new Error(`${this.principal.id}: expected an error`);
    return outcome.response.errors ?? [];
  }
}

/** One graphql-ws subscription, collecting what arrives under `field`. */
class Live<T> {
  private readonly arrivals = new Arrivals<T>();
  private readonly client: Client;

  constructor(url: string, token: string, document: string, field: string, variables = {}) {
    this.client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    this.client.subscribe<Record<string, T>>(
      { query: document, variables },
      {
        next: (result) => {
          for (const error of result.errors ?? []) this.arrivals.fail(error);
          if (result.data) this.arrivals.push(result.data[field]!);
        },
        error: (error) => this.arrivals.fail(error),
        complete: () => undefined,
      },
    );
  }

  get items(): readonly T[] {
    return this.arrivals.items;
  }

  get errors(): readonly unknown[] {
    return this.arrivals.errors;
  }

  next(predicate: (item: T) => boolean, what: string): Promise<T> {
    return this.arrivals.next(predicate, what);
  }

  failure(what: string): Promise<unknown[]> {
    return this.arrivals.failure(what);
  }

  close(): Promise<void> {
    return this.client.dispose() as Promise<void>;
  }
}

describe.each(availableDatabases())(
  'presence and typing over GraphQL, booted server (%s)',
  (kind) => {
    let dataDir: string;
    let db: TestDatabase | undefined;
    let server: RunningServer;
    let presence: PresenceService;
    let alice: Caller;
    let bob: Caller;
    let carol: Caller;
    let dave: Caller;
    const live: Live<unknown>[] = [];

    async function caller(userId: string): Promise<Caller> {
      const token = await devToken(server.url, { tenantId: TENANT, userId });
      const principal: Principal = { kind: 'user', id: userId, tenantId: TENANT, roles: ['user'] };
      return new Caller(principal, server.url, token);
    }

    function subscribe<T>(who: Caller, document: string, field: string, variables = {}): Live<T> {
      const subscription = new Live<T>(server.url, who.token, document, field, variables);
      live.push(subscription);
      return subscription;
    }

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-presence-e2e-'));
      const env: Record<string, string> = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        LEDGERLINE_PORT: '0',
        LEDGERLINE_METRICS_PORT: '0',
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_PRESENCE_GRACE_MS: String(GRACE_MS),
        LEDGERLINE_TYPING_RATE_LIMIT: '10',
        LEDGERLINE_TYPING_RATE_WINDOW_MS: '600000',
      };
      if (kind === 'postgres') {
        db = await openTestDatabase('postgres');
        env['DATABASE_URL'] = db.url!;
      }
      server = await startServer(loadConfig(env));
      presence = server.app.get(PresenceService);
      alice = await caller('alice');
      bob = await caller('bob');
      carol = await caller('carol');
      dave = await caller('dave');
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.all(live.map((s) => s.close()));
      await server?.shutdown('test done');
      await db?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }, STARTUP_TIMEOUT_MS);

    /** A presenceChanged subscription, proven live by a change of the subscriber's own. */
    async function presenceFeed(who: Caller, probeConnection: string): Promise<Live<PresenceBody>> {
      const feed = subscribe<PresenceBody>(who, PRESENCE_CHANGED, 'presenceChanged');
      await probeUntilLive(
        async (attempt) => {
          if (attempt > 0) {
            // Missed: go offline again, and open once the grace period has passed.
            await presence.connectionClosed(who.principal, probeConnection);
            await sleep(GRACE_MS + 100);
          }
          await presence.connectionOpened(who.principal, probeConnection);
        },
        feed.next((c) => c.userId === who.principal.id, `${who.principal.id}'s presence`),
        `${who.principal.id}'s presence feed`,
      );
      return feed;
    }

    let group: string;

    it('answers presence to those who share a conversation, live, online → away → offline after the grace', async () => {
      const created = await alice.request<{
        createGroupConversation: { conversationId: string; position: string };
      }>(CREATE_GROUP, {
        input: { title: 'Ward 7', members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }] },
      });
      group = created.createGroupConversation.conversationId;
      await bob.request(CONVERSATIONS, { minPosition: created.createGroupConversation.position });

      const bobFeed = await presenceFeed(bob, 'bob-probe');
      const carolFeed = await presenceFeed(carol, 'carol-probe');

      // Alice connects (as the realtime gateway will report it).
      await presence.connectionOpened(alice.principal, 'alice-phone');
      const online = await bobFeed.next(
        (c) => c.userId === 'alice' && c.status === 'ONLINE',
        'bob sees alice online',
      );
      expect(online).toMatchObject({
        lastSeenAt: null,
        position: expect.stringMatching(/^\d+\.\d+$/) as unknown,
      });
      const asked = await bob.request<{ presence: PresenceBody }>(PRESENCE, { userId: 'alice' });
      expect(asked.presence).toMatchObject({
        userId: 'alice',
        status: 'ONLINE',
        lastSeenAt: null,
        since: expect.any(String) as unknown,
        position: online.position,
      });

      // Carol shares nothing with alice: NOT_FOUND, exactly as for a user that does not exist.
      const hidden = await carol.errors(PRESENCE, { userId: 'alice' });
      const ghost = await carol.errors(PRESENCE, { userId: 'ghost' });
      expect(hidden.map((e) => e.extensions)).toEqual([
        { code: 'NOT_FOUND', reason: 'presence_not_visible' },
      ]);
      expect(ghost.map((e) => e.extensions)).toEqual(hidden.map((e) => e.extensions));
      expect((await carol.errors(PRESENCE, { userId: 'bad id' }))[0]?.extensions?.['code']).toBe(
        'BAD_USER_INPUT',
      );

      // Away and back, over GraphQL; a user with no connection cannot say either.
      const away = await alice.request<{ setPresence: PresenceBody }>(SET_PRESENCE, {
        status: 'AWAY',
      });
      expect(away.setPresence).toEqual({ userId: 'alice', status: 'AWAY' });
      await bobFeed.next((c) => c.userId === 'alice' && c.status === 'AWAY', 'bob sees alice away');
      expect(
        (await dave.errors(SET_PRESENCE, { status: 'AWAY' })).map((e) => e.extensions),
      ).toEqual([{ code: 'CONFLICT', reason: 'not_connected' }]);

      // The last connection closes: offline once the grace period has passed, with a last-seen.
      await presence.connectionClosed(alice.principal, 'alice-phone');
      const offline = await bobFeed.next(
        (c) => c.userId === 'alice' && c.status === 'OFFLINE',
        'bob sees alice offline',
      );
      expect(offline.lastSeenAt).toEqual(expect.any(String));
      expect(bobFeed.items.filter((c) => c.userId === 'alice').map((c) => c.status)).toEqual([
        'ONLINE',
        'AWAY',
        'OFFLINE',
      ]);

      // Carol's own change reaches her after all of alice's: none of alice's did.
      await carol.request(SET_PRESENCE, { status: 'AWAY' });
      await carolFeed.next(
        (c) => c.userId === 'carol' && c.status === 'AWAY',
        'carol sees herself',
      );
      expect(carolFeed.items.filter((c) => c.userId === 'alice')).toEqual([]);
    });

    it('sends typing indicators to the conversation’s members only, rate-limited, never to outsiders', async () => {
      const bobTyping = subscribe<TypingBody>(bob, TYPING, 'typing', { conversationId: group });
      const carolTyping = subscribe<TypingBody>(carol, TYPING, 'typing');
      // Proven live by bob's own signal (his other devices see it too). Fewer probes than the
      // typing rate limit (10), each waited for longer than the one before.
      await probeUntilLive(
        async () => {
          await bob.request(SEND_TYPING, { conversationId: group });
        },
        bobTyping.next((s) => s.userId === 'bob', 'bob sees himself typing'),
        'bob’s typing feed',
        { maxProbes: 6, firstWindowMs: 1_000 },
      );

      const sent = await alice.request<{ sendTyping: TypingBody }>(SEND_TYPING, {
        conversationId: group,
      });
      expect(sent.sendTyping).toEqual({
        conversationId: group,
        userId: 'alice',
        expiresAt: expect.any(String) as unknown,
      });
      expect(new Date(sent.sendTyping.expiresAt).getTime()).toBeGreaterThan(Date.now());
      expect(await bobTyping.next((s) => s.userId === 'alice', 'bob sees alice typing')).toEqual(
        sent.sendTyping,
      );

      // A non-member may neither send nor watch the conversation's indicators.
      expect(
        (await carol.errors(SEND_TYPING, { conversationId: group })).map((e) => e.extensions),
      ).toEqual([{ code: 'NOT_FOUND', reason: 'conversation_not_found' }]);
      const carolOnGroup = subscribe<TypingBody>(carol, TYPING, 'typing', {
        conversationId: group,
      });
      expect(JSON.stringify(await carolOnGroup.failure('carol watching the group'))).toContain(
        'NOT_FOUND',
      );

      // Past the rate limit: RATE_LIMITED, retryable, with when to retry.
      let limited: EdgeErrorBody[] = [];
      for (let i = 0; i < 12 && limited.length === 0; i++) {
        const outcome: unknown = await alice.http
          .request(SEND_TYPING, { conversationId: group })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        if (outcome instanceof ClientError) limited = outcome.response.errors ?? [];
      }
      expect(limited.map((e) => e.extensions)).toEqual([
        {
          code: 'RATE_LIMITED',
          reason: 'typing_rate_limited',
          retryable: true,
          retryAfterMs: expect.any(Number) as unknown,
        },
      ]);
      expect(carolTyping.items).toEqual([]);
    });
  },
);
