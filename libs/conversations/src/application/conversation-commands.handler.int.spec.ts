import { AccessDeniedError } from '@ledgerline/identity';
import { availableDatabases } from '@ledgerline/testing';
import { ConversationRefused } from '../domain/conversation.errors';
import { conversationStreamId, directConversationId } from '../domain/stream-ids';
import type { ConversationProjections } from '../projections/conversation-projections';
import type { ConversationCommandResult } from './conversation-commands.handler';
import { ConversationShreddedError, NotAConversationMemberError } from './conversations.errors';
import type { ConversationQueries } from './queries/conversation-queries.handler';
import {
  openConversationsFixture,
  newTenant,
  type CommandsInstance,
  type ConversationsFixture,
} from './testing/conversations-fixture';

const CANARY = 'CANARY-4c1e patient Jane Roe, dx hypertension';

for (const kind of availableDatabases()) {
  describe(`ConversationCommands on ${kind}`, () => {
    let f: ConversationsFixture;
    let projections: ConversationProjections;
    let queries: ConversationQueries;
    let t: ReturnType<typeof newTenant>;
    let a: CommandsInstance;

    beforeAll(async () => {
      f = await openConversationsFixture(kind);
      projections = await f.newProjections();
      projections.start();
      queries = f.newQueries();
    });
    afterAll(async () => {
      await f?.close();
    });
    beforeEach(async () => {
      t = newTenant();
      a = await f.newCommands();
      f.accessLog.clear();
    });

    const settled = async (result: ConversationCommandResult) => {
      if (result.position) await projections.waitFor(result.position);
      return result;
    };

    async function group(commands = a.commands, title = 'Ward 4 handover') {
      const conversationId = t.conversationId();
      await commands.execute(t.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title,
          members: [
            { id: 'bob', kind: 'user', role: 'member' },
            { id: 'carol', kind: 'user', role: 'member' },
          ],
        },
      });
      return conversationId;
    }

    it('sends a message: acked with event id, revision and position, then in the history', async () => {
      const conversationId = await group();
      const sent = await a.commands.execute(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'c-1', text: CANARY },
      });
      expect(sent.eventIds).toHaveLength(1);
      expect(sent.revision).toBe(1n);
      expect(sent.position).toBeDefined();
      expect(sent.duplicate).toBe(false);
      await settled(sent);

      const page = await queries.messages(t.carol, conversationId);
      expect(page.items.map((m) => [m.messageId, m.authorId, m.content])).toEqual([
        [sent.messageId, 'bob', { status: 'available', text: CANARY }],
      ]);
      expect(page.items[0]!.position).toEqual(sent.position);

      // The stored event: type and version in clear, text sealed, only ids in the metadata.
      const [, stored] = await f.store.readStream(conversationStreamId(t.tenantId, conversationId));
      expect(stored!.type).toBe('MessageSent');
      expect(stored!.schemaVersion).toBe(1);
      expect(Buffer.from(stored!.data).toString('latin1')).not.toContain('CANARY');
      const { seal: _seal, ...clear } = stored!.metadata;
      expect(clear).toEqual({ actor: { id: 'bob', kind: 'user' } });
    });

    it('passes correlation and causation ids into the clear metadata, and nothing else', async () => {
      const conversationId = await group();
      await a.commands.execute(
        t.bob,
        { type: 'SendMessage', data: { conversationId, clientMessageId: 'c-1', text: 'hi' } },
        { correlationId: 'corr-1', causationId: 'cause-1' },
      );
      const [, stored] = await f.ledger.readStream(
        conversationStreamId(t.tenantId, conversationId),
      );
      expect(stored!.metadata).toEqual({
        actor: { id: 'bob', kind: 'user' },
        correlationId: 'corr-1',
        causationId: 'cause-1',
      });
    });

    it('a retried client message id stores one message and answers the original', async () => {
      const conversationId = await group();
      const send = { conversationId, clientMessageId: 'retry-me', text: 'once' };
      const first = await a.commands.execute(t.bob, { type: 'SendMessage', data: send });
      const again = await a.commands.execute(t.bob, { type: 'SendMessage', data: send });
      expect(again).toMatchObject({
        messageId: first.messageId,
        duplicate: true,
        eventIds: [],
        revision: first.revision,
        position: first.position,
      });
      // From another process (no cache): still the original, still nothing new.
      const b = await f.newCommands();
      const elsewhere = await b.commands.execute(t.bob, { type: 'SendMessage', data: send });
      expect(elsewhere).toMatchObject({
        messageId: first.messageId,
        duplicate: true,
        eventIds: [],
      });
      expect(elsewhere.position).toEqual(first.position);

      await settled(first);
      const page = await queries.messages(t.bob, conversationId);
      expect(page.items.map((m) => m.messageId)).toEqual([first.messageId]);
      const events = await f.store.readStream(conversationStreamId(t.tenantId, conversationId));
      expect(events.filter((e) => e.type === 'MessageSent')).toHaveLength(1);
    });

    it('concurrent sends from two processes (two caches) are all stored, in one consistent order', async () => {
      const conversationId = await group();
      const b = await f.newCommands({ maxAttempts: 50 });
      const c = await f.newCommands({ maxAttempts: 50 });
      const sends = Array.from({ length: 24 }, (_, i) =>
        (i % 2 === 0 ? b : c).commands.execute(i % 3 === 0 ? t.bob : t.carol, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: `m-${i}`, text: `message ${i}` },
        }),
      );
      const results = await Promise.all(sends);
      expect(new Set(results.map((r) => r.messageId)).size).toBe(24);
      expect(new Set(results.map((r) => r.revision)).size).toBe(24);

      const events = await f.ledger.readStream(conversationStreamId(t.tenantId, conversationId));
      const sent = events.filter((e) => e.type === 'MessageSent');
      expect(sent).toHaveLength(24);
      const sequences = sent.map(
        (e) =>
          (
            JSON.parse((e.body as { payload: Buffer }).payload.toString('utf8')) as {
              sequence: number;
            }
          ).sequence,
      );
      expect(sequences).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      expect(f.alarms).toEqual([]);

      // A third process sees the same state: it sends the 25th message.
      const next = await a.commands.execute(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'last', text: 'last' },
      });
      expect(next.revision).toBe(25n);
      await settled(next);
      const page = await queries.messages(t.bob, conversationId, { limit: 50 });
      expect(page.items.map((m) => m.sequence)).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
    });

    it('catches up from the cached revision, reading only the newer events', async () => {
      const conversationId = await group();
      for (let i = 0; i < 30; i++) {
        await a.commands.execute(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: `a-${i}`, text: `from a ${i}` },
        });
      }
      const b = await f.newCommands();
      await b.commands.execute(t.carol, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'b-0', text: 'from b' },
      });
      expect(b.states.stats).toMatchObject({ cacheMisses: 1, eventsFolded: 31 });

      for (let i = 30; i < 33; i++) {
        await a.commands.execute(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: `a-${i}`, text: `from a ${i}` },
        });
      }
      const readBefore = b.store.eventsRead;
      const reply = await b.commands.execute(t.carol, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'b-1', text: 'from b again' },
      });
      expect(reply.revision).toBe(35n);
      // The head (and, for the ledger's chain check, the event before it), then the cached last
      // event (re-read to verify the chain from it), the one before it, and the three new ones:
      // never the 32 the state already holds.
      // (+1: the ledger re-reads its own tip, which another process's appends made stale.)
      // Two cache hits: the first attempt decides on the cached state without reading anything,
      // its append at the cached revision loses to the other process, and the second attempt
      // catches the cached state up.
      expect(b.states.stats).toMatchObject({ cacheHits: 2, cacheMisses: 1, eventsFolded: 34 });
      expect(b.store.eventsRead - readBefore).toBe(2 + 2 + 3 + 1);
      // Both processes appended with stale ledger tips in turn: the chain still verifies.
      const all = await f.ledger.readStream(conversationStreamId(t.tenantId, conversationId));
      expect(all.map((e) => e.revision)).toEqual(Array.from({ length: 36 }, (_, i) => BigInt(i)));
      expect(f.alarms).toEqual([]);
    });

    it('snapshots every N events, and a fresh process starts from the snapshot', async () => {
      const snapshotting = await f.newCommands({ snapshotEvery: 5 });
      const conversationId = await group(snapshotting.commands);
      const streamId = conversationStreamId(t.tenantId, conversationId);
      const sent: string[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await snapshotting.commands.execute(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: `s-${i}`, text: `message ${i}` },
        });
        sent.push(r.messageId);
      }
      await snapshotting.commands.execute(t.carol, {
        type: 'AddReaction',
        data: { conversationId, messageId: sent[0]!, emoji: ':canary-4c1e:' },
      });
      const [row] = await f.db.client.query<{
        revision: string;
        version: number;
        state: Uint8Array;
      }>(
        'select revision::text as revision, version, state from ll_conversation_snapshots where stream_id = $1',
        [streamId],
      );
      // Revisions 0..13; snapshots when 5 events past the last: at 4, 9 (and 14 is not reached).
      expect(row!.revision).toBe('9');
      expect(row!.version).toBe(1);
      // Sealed: neither the emoji nor the client message ids are readable at rest.
      const rest = Buffer.from(row!.state).toString('latin1');
      expect(rest).not.toContain('s-0');
      expect(rest).not.toContain('bob');

      const fresh = await f.newCommands();
      const edit = await fresh.commands.execute(t.bob, {
        type: 'EditMessage',
        data: { conversationId, messageId: sent[11]!, text: 'edited' },
      });
      expect(edit.revision).toBe(14n);
      expect(fresh.states.stats).toMatchObject({ snapshotsLoaded: 1, eventsFolded: 4 });
      // The head and its predecessor, the snapshot's event and its predecessor, the 4 after it,
      // and the tip the fresh ledger reads to seal.
      expect(fresh.store.eventsRead).toBe(2 + 2 + 4 + 1);
      // The state from the snapshot is the real one: the retried send, the reaction limit.
      const retried = await fresh.commands.execute(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 's-3', text: 'message 3' },
      });
      expect(retried).toMatchObject({ messageId: sent[3], duplicate: true });
      // …and the snapshot kept the send's fingerprint: other text under that id is refused.
      await expect(
        fresh.commands.execute(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: 's-3', text: 'again' },
        }),
      ).rejects.toMatchObject({ reason: 'idempotency_key_reused' });
      const sameReaction = await fresh.commands.execute(t.carol, {
        type: 'AddReaction',
        data: { conversationId, messageId: sent[0]!, emoji: ':canary-4c1e:' },
      });
      expect(sameReaction.eventIds).toEqual([]);
      expect(f.snapshotProblems).toEqual([]);
    });

    it('checks access first: a missing permission is refused before anything is read, and recorded', async () => {
      const conversationId = await group();
      const b = await f.newCommands();
      await expect(
        b.commands.execute(t.auditor, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: 'x', text: 'hello' },
        }),
      ).rejects.toMatchObject({ code: 'forbidden', permission: 'message.send' });
      expect(b.store.streamReads).toBe(0);
      // An agent may take part but not start conversations.
      await expect(
        b.commands.execute(t.bot, {
          type: 'CreateGroupConversation',
          data: { conversationId: t.conversationId(), title: 'bots only', members: [] },
        }),
      ).rejects.toBeInstanceOf(AccessDeniedError);
      expect(f.accessLog.denials.map((d) => [d.actor.id, d.permission, d.reason])).toEqual([
        ['audrey', 'message.send', 'missing_permission'],
        ['triage-bot', 'conversation.create', 'missing_permission'],
      ]);
    });

    it('refuses a non-member: commands by the decider, reads by membership', async () => {
      const conversationId = await group();
      const refused = await a.commands
        .execute(t.mallory, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: 'x', text: 'let me in' },
        })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ConversationRefused);
      expect(refused).toMatchObject({ reason: 'not_a_member' });

      const created = await a.commands.execute(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'y', text: 'members only' },
      });
      await settled(created);
      await expect(queries.messages(t.mallory, conversationId)).rejects.toBeInstanceOf(
        NotAConversationMemberError,
      );
      // The same answer for a conversation that does not exist: nothing leaks.
      await expect(queries.messages(t.mallory, t.conversationId())).rejects.toBeInstanceOf(
        NotAConversationMemberError,
      );
      // A service reads the conversations of its own tenant.
      const page = await queries.messages(t.backend, conversationId);
      expect(page.items).toHaveLength(1);
    });

    it('a service creates a direct conversation for two users (on behalf), who then talk', async () => {
      const conversationId = directConversationId(t.tenantId, 'alice', 'dave');
      await a.commands.execute(t.backend, {
        type: 'CreateDirectConversation',
        data: {
          conversationId,
          participants: [
            { id: 'alice', kind: 'user' },
            { id: 'dave', kind: 'user' },
          ],
        },
      });
      const sent = await a.commands.execute(t.dave, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'd-1', text: 'hello alice' },
      });
      await settled(sent);
      const list = await queries.listConversations(t.alice);
      expect(list.items).toMatchObject([
        { conversationId, kind: 'direct', peerId: 'dave', unreadCount: 1, title: undefined },
      ]);
    });

    it('refuses every command on a shredded conversation with a typed error', async () => {
      const conversationId = await group();
      await a.commands.execute(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'before', text: CANARY },
      });
      await f.lifecycle.shred({
        tenantId: t.tenantId,
        streamId: conversationStreamId(t.tenantId, conversationId),
        reason: 'retention ended',
        actor: { id: 'admin', kind: 'user' },
      });
      const fresh = await f.newCommands();
      const error = await fresh.commands
        .execute(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: 'after', text: 'anyone?' },
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConversationShreddedError);
      expect(error).toMatchObject({ code: 'conversation_shredded', revision: 0n });
      expect((error as Error).message).not.toContain('CANARY');
    });
  });
}
