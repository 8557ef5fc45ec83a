import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, GraphQLClient } from 'graphql-request';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  Arrivals,
  STARTUP_TIMEOUT_MS,
  availableDatabases,
  clientHeaders,
  devToken,
  openTestDatabase,
  probeUntilLive,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
  E2E_TEST_TIMEOUT_MS,
} from '@ledgerline/testing';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Boots the compiled server (`npm test` builds first) as its own process, gets development tokens
// from it, and talks to it the way a web app does: graphql-request over HTTP for queries and
// mutations, graphql-ws over a WebSocket for subscriptions.

// Stands for PHI: it is sent as message text, edits, reasons and bad input, and must never show up
// in the server's logs or in an error.
const CANARY = `canary-${randomUUID()}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ----- GraphQL documents, as a client would write them -----

const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
      eventIds
      position
      changed
    }
  }
`;
const CREATE_DIRECT = /* GraphQL */ `
  mutation CreateDirect($input: CreateDirectConversationInput!) {
    createDirectConversation(input: $input) {
      conversationId
      position
    }
  }
`;
const SEND = /* GraphQL */ `
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) {
      conversationId
      messageId
      clientMessageId
      eventIds
      position
      duplicate
      changed
    }
  }
`;
const EDIT = /* GraphQL */ `
  mutation Edit($input: EditMessageInput!) {
    editMessage(input: $input) {
      eventIds
      position
      changed
    }
  }
`;
const REDACT = /* GraphQL */ `
  mutation Redact($input: RedactMessageInput!) {
    redactMessage(input: $input) {
      position
    }
  }
`;
const REACT = /* GraphQL */ `
  mutation React($input: ReactionInput!) {
    addReaction(input: $input) {
      position
    }
  }
`;
const DELIVERED = /* GraphQL */ `
  mutation Delivered($input: MarkDeliveredInput!) {
    markDelivered(input: $input) {
      position
    }
  }
`;
const READ = /* GraphQL */ `
  mutation Read($input: MarkReadInput!) {
    markRead(input: $input) {
      position
    }
  }
`;
const HISTORY = /* GraphQL */ `
  query History(
    $conversationId: ID!
    $first: Int
    $after: String
    $before: String
    $minPosition: String
  ) {
    messages(
      conversationId: $conversationId
      first: $first
      after: $after
      before: $before
      minPosition: $minPosition
    ) {
      items {
        id
        sequence
        authorId
        threadRootId
        contentStatus
        text
        editCount
        replyCount
        redactedAt
      }
      hasMore
      startCursor
      endCursor
    }
  }
`;
const THREAD = /* GraphQL */ `
  query Thread($conversationId: ID!, $rootMessageId: ID!, $minPosition: String) {
    thread(
      conversationId: $conversationId
      rootMessageId: $rootMessageId
      minPosition: $minPosition
    ) {
      root {
        id
        text
        replyCount
      }
      replies {
        items {
          id
          threadRootId
          contentStatus
          text
        }
      }
    }
  }
`;
const EDIT_HISTORY = /* GraphQL */ `
  query Edits($conversationId: ID!, $messageId: ID!, $minPosition: String) {
    editHistory(conversationId: $conversationId, messageId: $messageId, minPosition: $minPosition) {
      messageId
      redacted
      versions {
        editNumber
        editorId
        contentStatus
        text
      }
    }
  }
`;
const REACTIONS = /* GraphQL */ `
  query Reactions($conversationId: ID!, $messageId: ID!, $minPosition: String) {
    reactions(conversationId: $conversationId, messageId: $messageId, minPosition: $minPosition) {
      reactions {
        emoji
        count
        memberIds
        mine
      }
      incomplete
    }
  }
`;
const RECEIPTS = /* GraphQL */ `
  query Receipts($conversationId: ID!, $minPosition: String) {
    receipts(conversationId: $conversationId, minPosition: $minPosition) {
      delivered {
        memberId
        deviceId
        upToMessageId
        upToSequence
      }
      read {
        memberId
        deviceId
        upToMessageId
        upToSequence
      }
    }
  }
`;
const MESSAGE_RECEIPTS = /* GraphQL */ `
  query MessageReceipts($conversationId: ID!, $messageId: ID!, $minPosition: String) {
    messageReceipts(
      conversationId: $conversationId
      messageId: $messageId
      minPosition: $minPosition
    ) {
      sequence
      delivered {
        memberId
        deviceId
      }
      read {
        memberId
      }
    }
  }
`;
const CONVERSATIONS = /* GraphQL */ `
  query Conversations($minPosition: String) {
    conversations(minPosition: $minPosition) {
      items {
        id
        kind
        title
        viewerRole
        unreadCount
        readUpToSequence
        peerId
        lastMessage {
          messageId
          contentStatus
          text
        }
      }
      hasMore
    }
  }
`;
const EVENTS = /* GraphQL */ `
  subscription Events($conversationId: ID) {
    conversationEvents(conversationId: $conversationId) {
      kind
      eventId
      conversationId
      position
      actorId
      messageId
      threadRootId
      contentStatus
      text
      editNumber
      emoji
      upToMessageId
      upToSequence
      deviceId
    }
  }
`;

// ----- result shapes -----

interface Ack {
  conversationId: string;
  eventIds: string[];
  position: string | null;
  changed: boolean;
}
interface SendAck extends Ack {
  messageId: string;
  clientMessageId: string;
  duplicate: boolean;
}
interface MessageItem {
  id: string;
  sequence: number;
  authorId: string;
  threadRootId: string | null;
  contentStatus: string;
  text: string | null;
  editCount: number;
  replyCount: number;
  redactedAt: string | null;
}
interface MessagePage {
  items: MessageItem[];
  hasMore: boolean;
  startCursor: string | null;
  endCursor: string | null;
}
interface LiveEvent {
  kind: string;
  eventId: string;
  conversationId: string;
  position: string;
  actorId: string;
  messageId: string | null;
  threadRootId: string | null;
  contentStatus: string | null;
  text: string | null;
  editNumber: number | null;
  emoji: string | null;
  upToMessageId: string | null;
  upToSequence: number | null;
  deviceId: string | null;
}
interface EdgeErrorBody {
  message: string;
  extensions?: Record<string, unknown>;
}

// ----- clients -----

class Caller {
  readonly http: GraphQLClient;
  constructor(
    readonly name: string,
    readonly url: string,
    readonly token: string,
  ) {
    this.http = new GraphQLClient(`${url}/graphql`, { headers: clientHeaders(token) });
  }

  request<T>(document: string, variables?: Record<string, unknown>): Promise<T> {
    return this.http.request<T>(document, variables);
  }

  /** The errors of a request expected to fail (graphql-request throws them as a ClientError). */
  async errors(document: string, variables?: Record<string, unknown>): Promise<EdgeErrorBody[]> {
    const outcome: unknown = await this.http.request(document, variables).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(outcome instanceof ClientError)) throw new Error(`${this.name}: expected an error`);
    return outcome.response.errors ?? [];
  }

  async history(conversationId: string, minPosition?: string | null): Promise<MessageItem[]> {
    const r = await this.request<{ messages: MessagePage }>(HISTORY, {
      conversationId,
      first: 50,
      minPosition,
    });
    return r.messages.items;
  }
}

/** A graphql-ws subscription to `conversationEvents`, collecting what arrives. */
class EventsSubscription {
  private readonly arrivals = new Arrivals<LiveEvent>();
  private readonly client: Client;
  readonly ended: Promise<void>;

  constructor(url: string, token: string, variables: Record<string, unknown> = {}) {
    this.client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    this.ended = new Promise((resolve) => {
      this.client.subscribe<{ conversationEvents: LiveEvent }>(
        { query: EVENTS, variables },
        {
          next: (result) => {
            for (const error of result.errors ?? []) this.arrivals.fail(error);
            if (result.data) this.arrivals.push(result.data.conversationEvents);
          },
          error: (error) => {
            this.arrivals.fail(error);
            resolve();
          },
          complete: () => resolve(),
        },
      );
    });
  }

  get events(): readonly LiveEvent[] {
    return this.arrivals.items;
  }

  get errors(): readonly unknown[] {
    return this.arrivals.errors;
  }

  /** Resolves with the first event (from index `from`) that matches. */
  next(predicate: (e: LiveEvent) => boolean, from = 0): Promise<LiveEvent> {
    return this.arrivals.next(predicate, 'subscription', from);
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

const format = (value: unknown) => JSON.stringify(value);

function codes(errors: readonly EdgeErrorBody[]): unknown[] {
  return errors.map((e) => e.extensions?.['code']);
}

describe.each(availableDatabases())('conversations over GraphQL, built server (%s)', (kind) => {
  let dataDir: string;
  let db: TestDatabase | undefined;
  let server: ServerProcess;
  let url: string;
  let alice: Caller;
  let bob: Caller;
  let mallory: Caller;
  let bobEvents: EventsSubscription;
  let malloryEvents: EventsSubscription;
  const subscriptions: EventsSubscription[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-conversations-e2e-'));
    const env: Record<string, string> = {
      LEDGERLINE_DATA_DIR: dataDir,
      NODE_ENV: 'development',
      // As much logging as there is: none of it may carry message text.
      LOG_LEVEL: 'debug',
    };
    if (kind === 'postgres') {
      db = await openTestDatabase('postgres');
      env['DATABASE_URL'] = db.url!;
    }
    server = await startServerProcess(env);
    url = server.url;
    const caller = async (userId: string, tenantId: string) =>
      new Caller(userId, url, await devToken(url, { tenantId, userId }));
    alice = await caller('alice', 'tenant-a');
    bob = await caller('bob', 'tenant-a');
    mallory = await caller('mallory', 'tenant-b');
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.close()));
    await server?.stop();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, STARTUP_TIMEOUT_MS);

  /** Subscribes, then proves the subscription is live with an event only its owner can cause. */
  async function liveSubscription(caller: Caller, probePeer: string): Promise<EventsSubscription> {
    const subscription = new EventsSubscription(url, caller.token);
    subscriptions.push(subscription);
    // The subscription registers asynchronously (its start is recorded in the audit log first):
    // probe (a direct conversation of the caller's) until a probe's event arrives.
    const probes = new Set<string>();
    await probeUntilLive(
      async (attempt) => {
        const probe = await caller.request<{ createDirectConversation: Ack }>(CREATE_DIRECT, {
          input: { participants: [{ id: `${probePeer}-${attempt}`, kind: 'USER' }] },
        });
        probes.add(probe.createDirectConversation.conversationId);
      },
      subscription.next((e) => probes.has(e.conversationId)),
      `${caller.name}'s subscription`,
    );
    return subscription;
  }

  let groupId: string;
  let m1: SendAck;
  let m2: SendAck;
  let bobFrom: number;

  it('serves a group conversation end to end: history, thread, edits, reactions, receipts, live events', async () => {
    bobEvents = await liveSubscription(bob, 'zed');
    malloryEvents = await liveSubscription(mallory, 'trent');
    bobFrom = bobEvents.events.length;

    const created = await alice.request<{ createGroupConversation: Ack }>(CREATE_GROUP, {
      input: { title: 'Care team', members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }] },
    });
    groupId = created.createGroupConversation.conversationId;
    expect(created.createGroupConversation).toEqual({
      conversationId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      eventIds: [expect.any(String)],
      position: expect.stringMatching(/^\d+\.\d+$/) as unknown,
      changed: true,
    });

    // Alice sends; the ack carries the message id and the global position.
    const send = {
      conversationId: groupId,
      clientMessageId: 'alice-1',
      text: `Hello Bob ${CANARY}`,
    };
    m1 = (await alice.request<{ sendMessage: SendAck }>(SEND, { input: send })).sendMessage;
    expect(m1).toMatchObject({ duplicate: false, changed: true, clientMessageId: 'alice-1' });
    expect(m1.eventIds).toHaveLength(1);
    // A retried send (same client message id) answers the same message and ack, storing nothing.
    const retried = (await alice.request<{ sendMessage: SendAck }>(SEND, { input: send }))
      .sendMessage;
    expect(retried).toMatchObject({
      messageId: m1.messageId,
      position: m1.position,
      duplicate: true,
      changed: false,
      eventIds: [],
    });

    // Bob replies in a thread; alice edits; bob reacts; alice redacts bob's reply with a reason.
    m2 = (
      await bob.request<{ sendMessage: SendAck }>(SEND, {
        input: {
          conversationId: groupId,
          clientMessageId: 'bob-1',
          text: 'On my way',
          threadRootId: m1.messageId,
        },
      })
    ).sendMessage;
    const edited = await alice.request<{ editMessage: Ack }>(EDIT, {
      input: {
        conversationId: groupId,
        messageId: m1.messageId,
        text: `Hello Bob (edited) ${CANARY}`,
      },
    });
    expect(edited.editMessage.changed).toBe(true);
    await bob.request(REACT, {
      input: { conversationId: groupId, messageId: m1.messageId, emoji: '👍' },
    });

    // Before bob reads: one unread message (alice's).
    const beforeRead = await bob.request<{
      conversations: { items: { id: string; unreadCount: number }[] };
    }>(CONVERSATIONS, { minPosition: m2.position });
    expect(beforeRead.conversations.items.find((c) => c.id === groupId)?.unreadCount).toBe(1);

    await alice.request(REDACT, {
      input: {
        conversationId: groupId,
        messageId: m2.messageId,
        reason: `off-topic ${CANARY}`,
      },
    });
    await bob.request(DELIVERED, {
      input: { conversationId: groupId, deviceId: 'bob-phone', upToMessageId: m2.messageId },
    });
    const read = await bob.request<{ markRead: Ack }>(READ, {
      input: { conversationId: groupId, upToMessageId: m2.messageId },
    });
    const last = read.markRead.position!;

    // History: the same for both members; exactly one message from the two sends of alice-1.
    const expectedHistory = [
      {
        id: m1.messageId,
        sequence: 1,
        authorId: 'alice',
        threadRootId: null,
        contentStatus: 'AVAILABLE',
        text: `Hello Bob (edited) ${CANARY}`,
        editCount: 1,
        replyCount: 1,
        redactedAt: null,
      },
      {
        id: m2.messageId,
        sequence: 2,
        authorId: 'bob',
        threadRootId: m1.messageId,
        contentStatus: 'REDACTED',
        text: null,
        editCount: 0,
        replyCount: 0,
        redactedAt: expect.any(String) as unknown,
      },
    ];
    expect(await alice.history(groupId, last)).toEqual(expectedHistory);
    expect(await bob.history(groupId, last)).toEqual(expectedHistory);

    // Paging both ways by cursor.
    const newest = await alice.request<{ messages: MessagePage }>(HISTORY, {
      conversationId: groupId,
      first: 1,
    });
    expect(newest.messages.items.map((m) => m.id)).toEqual([m2.messageId]);
    expect(newest.messages.hasMore).toBe(true);
    const older = await alice.request<{ messages: MessagePage }>(HISTORY, {
      conversationId: groupId,
      first: 1,
      before: newest.messages.startCursor,
    });
    expect(older.messages.items.map((m) => m.id)).toEqual([m1.messageId]);
    expect(older.messages.hasMore).toBe(false);
    const forwards = await alice.request<{ messages: MessagePage }>(HISTORY, {
      conversationId: groupId,
      first: 1,
      after: older.messages.endCursor,
    });
    expect(forwards.messages.items.map((m) => m.id)).toEqual([m2.messageId]);

    // The thread: its root and the (redacted) reply.
    const thread = await bob.request<{ thread: unknown }>(THREAD, {
      conversationId: groupId,
      rootMessageId: m1.messageId,
    });
    expect(thread.thread).toEqual({
      root: { id: m1.messageId, text: `Hello Bob (edited) ${CANARY}`, replyCount: 1 },
      replies: {
        items: [
          {
            id: m2.messageId,
            threadRootId: m1.messageId,
            contentStatus: 'REDACTED',
            text: null,
          },
        ],
      },
    });

    // Edit history of the edited message; none left for the redacted one.
    const edits = await bob.request<{ editHistory: unknown }>(EDIT_HISTORY, {
      conversationId: groupId,
      messageId: m1.messageId,
    });
    expect(edits.editHistory).toEqual({
      messageId: m1.messageId,
      redacted: false,
      versions: [
        {
          editNumber: 0,
          editorId: 'alice',
          contentStatus: 'AVAILABLE',
          text: `Hello Bob ${CANARY}`,
        },
        {
          editNumber: 1,
          editorId: 'alice',
          contentStatus: 'AVAILABLE',
          text: `Hello Bob (edited) ${CANARY}`,
        },
      ],
    });
    const redactedEdits = await alice.request<{ editHistory: unknown }>(EDIT_HISTORY, {
      conversationId: groupId,
      messageId: m2.messageId,
    });
    expect(redactedEdits.editHistory).toEqual({
      messageId: m2.messageId,
      redacted: true,
      versions: [],
    });

    // Reactions, as each member sees them.
    const aliceReactions = await alice.request<{ reactions: unknown }>(REACTIONS, {
      conversationId: groupId,
      messageId: m1.messageId,
    });
    expect(aliceReactions.reactions).toEqual({
      reactions: [{ emoji: '👍', count: 1, memberIds: ['bob'], mine: false }],
      incomplete: false,
    });
    const bobReactions = await bob.request<{
      reactions: { reactions: { mine: boolean }[] };
    }>(REACTIONS, { conversationId: groupId, messageId: m1.messageId });
    expect(bobReactions.reactions.reactions.map((r) => r.mine)).toEqual([true]);

    // Receipts of the conversation and of the first message.
    const receipts = await alice.request<{ receipts: unknown }>(RECEIPTS, {
      conversationId: groupId,
      minPosition: last,
    });
    expect(receipts.receipts).toEqual({
      delivered: [
        { memberId: 'bob', deviceId: 'bob-phone', upToMessageId: m2.messageId, upToSequence: 2 },
      ],
      read: [{ memberId: 'bob', deviceId: null, upToMessageId: m2.messageId, upToSequence: 2 }],
    });
    const m1Receipts = await alice.request<{ messageReceipts: unknown }>(MESSAGE_RECEIPTS, {
      conversationId: groupId,
      messageId: m1.messageId,
    });
    expect(m1Receipts.messageReceipts).toEqual({
      sequence: 1,
      delivered: [{ memberId: 'bob', deviceId: 'bob-phone' }],
      read: [{ memberId: 'bob' }],
    });

    // Conversation lists and unread counts: bob has read everything; alice's only unread message
    // (bob's reply) was redacted.
    type ListItem = { id: string; viewerRole: string; unreadCount: number; title: string | null };
    const aliceList = await alice.request<{ conversations: { items: ListItem[] } }>(CONVERSATIONS, {
      minPosition: last,
    });
    expect(aliceList.conversations.items.find((c) => c.id === groupId)).toMatchObject({
      kind: 'GROUP',
      title: 'Care team',
      viewerRole: 'OWNER',
      unreadCount: 0,
      lastMessage: { messageId: m2.messageId, contentStatus: 'REDACTED', text: null },
    });
    const bobList = await bob.request<{ conversations: { items: ListItem[] } }>(CONVERSATIONS, {
      minPosition: last,
    });
    expect(bobList.conversations.items.find((c) => c.id === groupId)).toMatchObject({
      viewerRole: 'MEMBER',
      unreadCount: 0,
      readUpToSequence: 2,
    });

    // Bob's live events: each change, in order, once (the retried send added nothing).
    await bobEvents.next(
      (e) => e.kind === 'MESSAGES_READ' && e.conversationId === groupId,
      bobFrom,
    );
    const received = bobEvents.events.slice(bobFrom);
    expect(received.map((e) => [e.kind, e.messageId ?? e.upToMessageId, e.actorId])).toEqual([
      ['GROUP_CONVERSATION_CREATED', null, 'alice'],
      ['MESSAGE_SENT', m1.messageId, 'alice'],
      ['MESSAGE_SENT', m2.messageId, 'bob'],
      ['MESSAGE_EDITED', m1.messageId, 'alice'],
      ['REACTION_ADDED', m1.messageId, 'bob'],
      ['MESSAGE_REDACTED', m2.messageId, 'alice'],
      ['MESSAGES_DELIVERED', m2.messageId, 'bob'],
      ['MESSAGES_READ', m2.messageId, 'bob'],
    ]);
    expect(received[1]).toMatchObject({
      text: `Hello Bob ${CANARY}`,
      contentStatus: 'AVAILABLE',
      eventId: m1.eventIds[0],
      position: m1.position,
    });
    expect(received[2]).toMatchObject({ threadRootId: m1.messageId, text: 'On my way' });
    expect(received[3]).toMatchObject({ editNumber: 1, text: `Hello Bob (edited) ${CANARY}` });
    expect(received[4]).toMatchObject({ emoji: '👍' });
    expect(received[5]).toMatchObject({ contentStatus: 'REDACTED', text: null });
    expect(format(received)).not.toContain('off-topic'); // a redaction's reason is never sent
    expect(received[6]).toMatchObject({ deviceId: 'bob-phone', upToSequence: 2 });
    const positions = received.map((e) => e.position.split('.').map(BigInt));
    for (let i = 1; i < positions.length; i++) {
      const [c0, p0] = positions[i - 1]!;
      const [c1, p1] = positions[i]!;
      expect(c1! > c0! || (c1 === c0 && p1! > p0!)).toBe(true);
    }
    expect(new Set(received.map((e) => e.eventId)).size).toBe(received.length);
  });

  it("keeps another tenant out: mallory sees nothing of tenant A's conversation, now or live", async () => {
    const malloryList = await mallory.request<{
      conversations: { items: { id: string; peerId: string | null }[] };
    }>(CONVERSATIONS);
    expect(malloryList.conversations.items.map((c) => c.id)).not.toContain(groupId);
    expect(malloryList.conversations.items.every((c) => c.peerId?.startsWith('trent'))).toBe(true);

    const notFound = [
      await mallory.errors(HISTORY, { conversationId: groupId }),
      await mallory.errors(THREAD, { conversationId: groupId, rootMessageId: m1.messageId }),
      await mallory.errors(EDIT_HISTORY, { conversationId: groupId, messageId: m1.messageId }),
      await mallory.errors(RECEIPTS, { conversationId: groupId }),
      await mallory.errors(SEND, {
        input: { conversationId: groupId, clientMessageId: 'm-1', text: 'let me in' },
      }),
      await mallory.errors(REACT, {
        input: { conversationId: groupId, messageId: m1.messageId, emoji: '👀' },
      }),
      await mallory.errors(READ, {
        input: { conversationId: groupId, upToMessageId: m1.messageId },
      }),
    ];
    for (const errors of notFound) {
      expect(codes(errors)).toEqual(['NOT_FOUND']);
      expect(errors[0]!.extensions?.['reason']).toBe('conversation_not_found');
    }

    // Nor can she subscribe to it.
    const targeted = new EventsSubscription(url, mallory.token, { conversationId: groupId });
    subscriptions.push(targeted);
    await targeted.ended;
    expect(targeted.errors.map((e) => (e as EdgeErrorBody).extensions?.['code'])).toEqual([
      'NOT_FOUND',
    ]);

    // Her live events: only her own conversations. An event of hers routed after everything above
    // proves the fan-out has passed all of tenant A's events without handing her any.
    const before = malloryEvents.events.length;
    const mine = await mallory.request<{ createDirectConversation: Ack }>(CREATE_DIRECT, {
      input: { participants: [{ id: 'trent-final', kind: 'USER' }] },
    });
    await malloryEvents.next(
      (e) => e.conversationId === mine.createDirectConversation.conversationId,
      before,
    );
    await sleep(200);
    expect(malloryEvents.events.every((e) => e.conversationId !== groupId)).toBe(true);
    expect(malloryEvents.events.every((e) => e.kind === 'DIRECT_CONVERSATION_CREATED')).toBe(true);
    expect(malloryEvents.errors).toEqual([]);
    // Nothing was written to alice's conversation by any of it.
    expect(await alice.history(groupId)).toHaveLength(2);
  });

  it('refuses bad input with a typed error, writes nothing and echoes nothing', async () => {
    const baseline = await alice.history(groupId);
    const bobBefore = bobEvents.events.length;
    const send = (input: Record<string, unknown>) =>
      alice.errors(SEND, {
        input: { conversationId: groupId, clientMessageId: randomUUID(), ...input },
      });

    const empty = await send({ text: '' });
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    expect(empty[0]!.extensions?.['fields']).toEqual([
      { field: 'input.text', constraints: ['isNotEmpty'] },
    ]);

    const blank = await send({ text: ' \n\t ' });
    expect(codes(blank)).toEqual(['BAD_USER_INPUT']);
    expect(blank[0]!.extensions).toMatchObject({ reason: 'empty', field: 'text' });

    const oversized = await send({ text: `${CANARY} ${'x'.repeat(10_000)}` });
    expect(codes(oversized)).toEqual(['BAD_USER_INPUT']);
    expect(oversized[0]!.extensions?.['fields']).toEqual([
      { field: 'input.text', constraints: ['maxLength'] },
    ]);

    const control = await send({ text: `ring \u0007 ${CANARY}` });
    expect(codes(control)).toEqual(['BAD_USER_INPUT']);
    expect(control[0]!.extensions).toMatchObject({ reason: 'control_character', field: 'text' });

    const loneSurrogate = await send({ text: `broken \ud800 ${CANARY}` });
    expect(codes(loneSurrogate)).toEqual(['BAD_USER_INPUT']);
    expect(loneSurrogate[0]!.extensions?.['fields']).toEqual([
      { field: 'input.text', constraints: ['isWellFormedText'] },
    ]);

    // Bytes that are not UTF-8 at all, sent raw (as a client with another encoding would).
    const [head, tail] = JSON.stringify({
      query: SEND,
      variables: { input: { conversationId: groupId, clientMessageId: 'raw-1', text: '<>' } },
    }).split('<>');
    const body = Buffer.concat([
      Buffer.from(head!),
      Buffer.from([0x63, 0x61, 0x66, 0xc3, 0x28, 0xff]), // "caf", then a broken sequence
      Buffer.from(tail!),
    ]);
    const raw = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body,
    });
    const rawErrors = ((await raw.json()) as { errors: EdgeErrorBody[] }).errors;
    expect(codes(rawErrors)).toEqual(['BAD_USER_INPUT']);
    expect(rawErrors[0]!.extensions?.['fields']).toEqual([
      { field: 'input.text', constraints: ['isWellFormedText'] },
    ]);

    const badId = await alice.errors(SEND, {
      input: { conversationId: 'not-a-uuid', clientMessageId: 'x-1', text: 'hello' },
    });
    expect(codes(badId)).toEqual(['BAD_USER_INPUT']);
    expect(badId[0]!.extensions?.['fields']).toEqual([
      { field: 'input.conversationId', constraints: ['isUuid'] },
    ]);
    const badIdRead = await alice.errors(HISTORY, { conversationId: 'not-a-uuid' });
    expect(codes(badIdRead)).toEqual(['BAD_USER_INPUT']);

    const unknown = randomUUID();
    const unknownSend = await alice.errors(SEND, {
      input: { conversationId: unknown, clientMessageId: 'x-2', text: 'hello' },
    });
    expect(codes(unknownSend)).toEqual(['NOT_FOUND']);
    expect(unknownSend[0]!.extensions?.['reason']).toBe('conversation_not_found');
    expect(codes(await alice.errors(HISTORY, { conversationId: unknown }))).toEqual(['NOT_FOUND']);
    const unknownMessage = await alice.errors(EDIT, {
      input: { conversationId: groupId, messageId: randomUUID(), text: 'hello' },
    });
    expect(codes(unknownMessage)).toEqual(['NOT_FOUND']);
    expect(unknownMessage[0]!.extensions?.['reason']).toBe('message_not_found');

    // (A page's cost is its size times its fields': a small selection, so the size is what fails.)
    const tooBig = await alice.errors(
      /* GraphQL */ `
        query Page($c: ID!, $first: Int) {
          messages(conversationId: $c, first: $first) {
            items {
              id
            }
          }
        }
      `,
      { c: groupId, first: 101 },
    );
    expect(codes(tooBig)).toEqual(['BAD_USER_INPUT']);
    expect(tooBig[0]!.extensions?.['fields']).toEqual([{ field: 'first', constraints: ['max'] }]);

    const deep = await alice.errors(
      /* GraphQL */ `
        query Deep($c: ID!) {
          messages(conversationId: $c) {
            items {
              replies {
                items {
                  replies {
                    items {
                      replies {
                        items {
                          replies {
                            items {
                              id
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      `,
      { c: groupId },
    );
    expect(codes(deep)).toEqual(['QUERY_TOO_DEEP']);

    const all = [empty, blank, oversized, control, loneSurrogate, rawErrors, badId, unknownSend];
    expect(format(all)).not.toContain(CANARY);

    // Nothing was written: the same history, and no live event reached bob meanwhile.
    expect(await alice.history(groupId)).toEqual(baseline);
    const after = await alice.request<{ sendMessage: SendAck }>(SEND, {
      input: { conversationId: groupId, clientMessageId: 'alice-after', text: 'still here' },
    });
    await bobEvents.next((e) => e.messageId === after.sendMessage.messageId, bobBefore);
    expect(bobEvents.events.slice(bobBefore).map((e) => e.kind)).toEqual(['MESSAGE_SENT']);
  });

  it('shuts down cleanly, and its logs never carried message text', async () => {
    await Promise.all(subscriptions.map((s) => s.close()));
    expect(await server.stop()).toBe(0);
    const output = server.output();
    expect(output).toContain('shut down cleanly');
    expect(output).not.toContain(CANARY);
    expect(output).not.toContain('Hello Bob');
    const lines = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg?: string });
    // Nothing went wrong on the server's side along the way (no INTERNAL, no dropped event).
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
