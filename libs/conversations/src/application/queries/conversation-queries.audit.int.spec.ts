import type { AccessRecord, Principal } from '@ledgerline/identity';
import { UnavailableError, type GlobalPosition } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import type { ConversationProjections } from '../../projections/conversation-projections';
import type { ConversationRequest } from '../conversation-commands.handler';
import {
  newTenant,
  openConversationsFixture,
  type CommandsInstance,
  type ConversationsFixture,
} from '../testing/conversations-fixture';
import type { ConversationQueries } from './conversation-queries.handler';

const TEXT = 'CANARY-7f3 potassium 6.1, repeat draw';

for (const kind of availableDatabases()) {
  describe(`access records of conversation reads on ${kind}`, () => {
    let f: ConversationsFixture;
    let projections: ConversationProjections;
    let queries: ConversationQueries;
    let commands: CommandsInstance;
    let t: ReturnType<typeof newTenant>;
    let conversationId: string;
    let rootId: string;
    let replyId: string;
    let last: GlobalPosition;

    const origin = {
      transport: 'http',
      clientAddress: '10.1.2.3',
      userAgent: 'ward-app/2',
    } as const;
    const alice = (): Principal => ({ ...t.alice, origin });

    async function run<R extends ConversationRequest>(principal: Principal, request: R) {
      const result = await commands.commands.execute(principal, request);
      if (result.position) last = result.position;
      return result;
    }

    beforeAll(async () => {
      f = await openConversationsFixture(kind);
      commands = await f.newCommands();
      projections = await f.newProjections();
      projections.start();
      queries = f.newQueries();
      t = newTenant();
      conversationId = t.conversationId();
      await run(t.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title: 'Ward 4 handover',
          members: [{ id: 'bob', kind: 'user', role: 'member' }],
        },
      });
      const root = await run(t.bob, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'r1', text: TEXT },
      });
      rootId = root.messageId!;
      const reply = await run(t.alice, {
        type: 'SendMessage',
        data: { conversationId, clientMessageId: 'r2', text: 'seen', threadRootId: rootId },
      });
      replyId = reply.messageId!;
      await run(t.bob, {
        type: 'EditMessage',
        data: { conversationId, messageId: rootId, text: `${TEXT} (haemolysed)` },
      });
      await projections.waitFor(last);
    });
    afterAll(async () => {
      await f?.close();
    });
    beforeEach(() => f.accessLog.clear());

    const expectOne = (expected: Partial<AccessRecord>) => {
      expect(f.accessLog.records).toEqual([
        {
          tenantId: t.tenantId,
          actor: { id: 'alice', kind: 'user', roles: ['user'] },
          outcome: 'allowed',
          subjectUserIds: ['bob'],
          origin,
          ...expected,
        },
      ]);
      expect(JSON.stringify(f.accessLog.records)).not.toContain('CANARY');
    };

    it('a history page: one record naming the conversation and the messages returned', async () => {
      const page = await queries.messages(alice(), conversationId);
      expect(page.items.map((m) => m.messageId)).toEqual([rootId, replyId]);
      expectOne({ action: 'phi.history.read', conversationId, targetIds: [rootId, replyId] });
    });

    it('a thread: one record naming its root and replies', async () => {
      await queries.thread(alice(), conversationId, rootId);
      expectOne({ action: 'phi.thread.read', conversationId, targetIds: [rootId, replyId] });
    });

    it('an edit history: one record naming the message', async () => {
      const history = await queries.editHistory(alice(), conversationId, rootId);
      expect(history.versions).toHaveLength(2);
      expectOne({ action: 'phi.edit_history.read', conversationId, targetIds: [rootId] });
    });

    it('the conversation list (titles and previews): one record naming the conversations', async () => {
      await queries.listConversations(alice());
      // Titles and previews are the members' data, whoever wrote the last message.
      expectOne({ action: 'phi.conversation_list.read', targetIds: [conversationId] });
    });

    it('a service reading for its users names the members as subjects', async () => {
      await queries.messages(t.backend, conversationId, { limit: 1 });
      expect(f.accessLog.records).toEqual([
        expect.objectContaining({
          actor: { id: 'svc-backend', kind: 'service', roles: ['service'] },
          subjectUserIds: ['alice', 'bob'],
        }),
      ]);
    });

    it('fails closed: when the record cannot be written, the read is not answered', async () => {
      f.accessLog.failWith(new UnavailableError('audit down'));
      try {
        await expect(queries.messages(alice(), conversationId)).rejects.toBeInstanceOf(
          UnavailableError,
        );
        await expect(queries.editHistory(alice(), conversationId, rootId)).rejects.toBeInstanceOf(
          UnavailableError,
        );
      } finally {
        f.accessLog.failWith(undefined);
      }
    });

    it('a non-member is refused, and the refusal is recorded as a denial', async () => {
      await expect(queries.messages(t.mallory, conversationId)).rejects.toThrow(/not a member/);
      expect(f.accessLog.records).toEqual([
        {
          tenantId: t.tenantId,
          actor: { id: 'mallory', kind: 'user', roles: ['user'] },
          action: 'access.denied',
          outcome: 'denied',
          reason: 'not_a_member',
          permission: 'conversation.read',
          operation: 'messages',
          conversationId,
          targetIds: [conversationId],
          subjectUserIds: [],
        },
      ]);
    });

    // Issue 10, item 23: both denials said only `conversation.read`.
    it('names the refused operation in each denial: messages and editHistory differ', async () => {
      await expect(queries.messages(t.mallory, conversationId)).rejects.toThrow(/not a member/);
      await expect(queries.editHistory(t.mallory, conversationId, rootId)).rejects.toThrow(
        /not a member/,
      );
      const denied = f.accessLog.records.filter((r) => r.action === 'access.denied');
      expect(denied.map((r) => [r.permission, r.operation])).toEqual([
        ['conversation.read', 'messages'],
        ['conversation.read', 'editHistory'],
      ]);
      // A denied permission (not membership) names its operation too.
      const noRoles = { ...t.mallory, roles: [] };
      await expect(queries.editHistory(noRoles, conversationId, rootId)).rejects.toThrow(
        /access denied/,
      );
      expect(f.accessLog.records.at(-1)).toMatchObject({
        action: 'access.denied',
        reason: 'missing_permission',
        permission: 'conversation.read',
        operation: 'editHistory',
      });
    });
  });
}
