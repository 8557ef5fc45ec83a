import type { Principal } from '@ledgerline/identity';
import { UnavailableError } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import { conversationStreamId } from '../../domain/stream-ids';
import type { ConversationProjections } from '../../projections/conversation-projections';
import type { ConversationRequest } from '../conversation-commands.handler';
import { NotAConversationMemberError } from '../conversations.errors';
import {
  newTenant,
  openConversationsFixture,
  type CommandsInstance,
  type ConversationsFixture,
} from '../testing/conversations-fixture';
import type { ConversationQueries } from './conversation-queries.handler';

// The reads behind realtime sync: a conversation's events after a revision, a member's
// conversations, and where a sent message sits. Same checks as every read; PHI reads recorded.

for (const kind of availableDatabases()) {
  describe(`conversation catch-up reads on ${kind}`, () => {
    let f: ConversationsFixture;
    let projections: ConversationProjections;
    let queries: ConversationQueries;
    let commands: CommandsInstance;
    let t: ReturnType<typeof newTenant>;

    const run = <R extends ConversationRequest>(principal: Principal, request: R) =>
      commands.commands.execute(principal, request);

    async function group(members: string[]): Promise<string> {
      const conversationId = t.conversationId();
      await run(t.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title: 'Ward 2',
          members: members.map((id) => ({ id, kind: 'user', role: 'member' }) as const),
        },
      });
      return conversationId;
    }

    beforeAll(async () => {
      f = await openConversationsFixture(kind);
      commands = await f.newCommands();
      projections = await f.newProjections();
      projections.start();
      queries = f.newQueries();
      t = newTenant();
    });
    afterAll(async () => {
      await f?.close();
    });

    it('answers every event after a revision, in order, paged, and records the read', async () => {
      const conversationId = await group(['bob']);
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await run(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: `c${i}`, text: `note ${i}` },
        });
        sent.push(r.messageId);
      }
      const reacted = await run(t.alice, {
        type: 'AddReaction',
        data: { conversationId, messageId: sent[0]!, emoji: '👍' },
      });
      await projections.waitFor(reacted.position!);
      f.accessLog.clear();

      const first = await queries.conversationEvents(t.alice, conversationId, {
        afterRevision: -1n,
        limit: 4,
      });
      expect(first.more).toBe(true);
      expect(first.events.map((e) => [e.revision, e.event?.type])).toEqual([
        [0n, 'GroupConversationCreated'],
        [1n, 'MessageSent'],
        [2n, 'MessageSent'],
        [3n, 'MessageSent'],
      ]);
      const rest = await queries.conversationEvents(t.alice, conversationId, {
        afterRevision: 3n,
        limit: 4,
      });
      expect(rest.more).toBe(false);
      expect(rest.events.map((e) => [e.revision, e.event?.type])).toEqual([
        [4n, 'MessageSent'],
        [5n, 'MessageSent'],
        [6n, 'ReactionAdded'],
      ]);
      expect(rest.events[2]).toMatchObject({
        conversationId,
        eventId: reacted.eventIds[0],
        position: reacted.position,
      });
      const none = await queries.conversationEvents(t.alice, conversationId, {
        afterRevision: 6n,
        limit: 4,
      });
      expect(none).toEqual({ events: [], more: false });

      // Two reads that returned events, each recorded with the messages they were about.
      expect(f.accessLog.records.map((r) => [r.action, r.conversationId, r.outcome])).toEqual([
        ['phi.realtime.sync', conversationId, 'allowed'],
        ['phi.realtime.sync', conversationId, 'allowed'],
      ]);
      expect(f.accessLog.records[1]!.targetIds).toEqual([sent[3], sent[4], sent[0]]);
      expect(f.accessLog.records[1]!.subjectUserIds).toEqual(['bob']);
    });

    it('refuses a non-member as if the conversation did not exist, and a page over the cap', async () => {
      const conversationId = await group(['bob']);
      const created = await run(t.alice, {
        type: 'RenameConversation',
        data: { conversationId, title: 'Ward 3' },
      });
      await projections.waitFor(created.position!);
      await expect(
        queries.conversationEvents(t.mallory, conversationId, { afterRevision: -1n }),
      ).rejects.toBeInstanceOf(NotAConversationMemberError);
      await expect(
        queries.conversationEvents(t.mallory, t.conversationId(), { afterRevision: -1n }),
      ).rejects.toBeInstanceOf(NotAConversationMemberError);
      await expect(
        queries.conversationEvents(t.alice, conversationId, { afterRevision: -1n, limit: 51 }),
      ).rejects.toMatchObject({ code: 'page_size_out_of_range' });
    });

    it('shows an event whose key was shredded as one without content, keeping its revision', async () => {
      f.clock.set('2026-11-25T10:00:00.000Z');
      const conversationId = await group(['bob']);
      await run(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'old', text: 'November note' },
      });
      f.clock.set('2026-12-02T10:00:00.000Z');
      const fresh = await run(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'new', text: 'December note' },
      });
      await projections.waitFor(fresh.position!);
      await f.lifecycle.shred({
        tenantId: t.tenantId,
        streamId: conversationStreamId(t.tenantId, conversationId),
        epoch: '2026-11',
        reason: 'retention ended',
        actor: { id: 'admin', kind: 'user' },
      });
      const page = await queries.conversationEvents(t.alice, conversationId, {
        afterRevision: -1n,
      });
      expect(page.events.map((e) => [e.revision, e.event?.type])).toEqual([
        [0n, undefined],
        [1n, undefined],
        [2n, 'MessageSent'],
      ]);
    });

    it('lists a member’s conversations by id, paged; a service is never a member', async () => {
      const other = newTenant();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const conversationId = other.conversationId();
        const created = await run(other.alice, {
          type: 'CreateGroupConversation',
          data: {
            conversationId,
            title: `Room ${i}`,
            members: [{ id: 'carol', kind: 'user', role: 'member' }],
          },
        });
        ids.push(conversationId);
        await projections.waitFor(created.position!);
      }
      ids.sort();
      const first = await queries.memberConversationIds(other.carol, { limit: 2 });
      expect(first).toEqual({ ids: ids.slice(0, 2), more: true });
      const second = await queries.memberConversationIds(other.carol, {
        limit: 2,
        after: first.ids[1],
      });
      expect(second).toEqual({ ids: ids.slice(2), more: false });
      expect(await queries.memberConversationIds(other.dave)).toEqual({ ids: [], more: false });
      expect(await queries.memberConversationIds(other.backend)).toEqual({ ids: [], more: false });
    });

    it('says where a sent message sits: its event id, revision and position', async () => {
      const conversationId = await group(['bob']);
      const sent = await run(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'p1', text: 'placed' },
      });
      await projections.waitFor(sent.position!);
      expect(await queries.sentMessage(t.bob, conversationId, sent.messageId)).toEqual({
        messageId: sent.messageId,
        eventId: sent.eventIds[0],
        revision: sent.revision,
        position: sent.position,
      });
      await expect(
        queries.sentMessage(t.mallory, conversationId, sent.messageId),
      ).rejects.toBeInstanceOf(NotAConversationMemberError);
    });

    it('fails a read whose access record cannot be written, answering nothing', async () => {
      const conversationId = await group(['bob']);
      const sent = await run(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'q', text: 'guarded' },
      });
      await projections.waitFor(sent.position!);
      f.accessLog.failWith(new UnavailableError('audit down'));
      try {
        await expect(
          queries.conversationEvents(t.alice, conversationId, { afterRevision: -1n }),
        ).rejects.toBeInstanceOf(UnavailableError);
      } finally {
        f.accessLog.failWith(undefined);
      }
    });
  });
}
