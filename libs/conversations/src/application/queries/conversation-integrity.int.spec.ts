import type { Principal } from '@ledgerline/identity';
import { IntegrityError } from '@ledgerline/ledger';
import type { GlobalPosition } from '@ledgerline/kernel';
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

for (const kind of availableDatabases()) {
  describe(`reads of a conversation with an altered event on ${kind}`, () => {
    let f: ConversationsFixture;
    let projections: ConversationProjections;
    let queries: ConversationQueries;
    let commands: CommandsInstance;
    let t: ReturnType<typeof newTenant>;
    let conversationId: string;
    const ids: string[] = [];
    let last: GlobalPosition;

    async function run<R extends ConversationRequest>(principal: Principal, request: R) {
      const result = await commands.commands.execute(principal, request);
      if (result.position) last = result.position;
      return result;
    }

    /** As a DBA with the triggers off: flips one byte of an event's sealed body. */
    async function flipByte(sql: string, params: unknown[]) {
      await f.db.client.transaction(async (tx) => {
        await tx.query('alter table ll_events disable trigger user', []);
        await tx.query(sql, params);
        await tx.query('alter table ll_events enable trigger user', []);
      });
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
          title: 'Ward 4',
          members: [{ id: 'bob', kind: 'user', role: 'member' }],
        },
      });
      for (const text of ['first', 'second', 'third']) {
        const sent = await run(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: text, text },
        });
        ids.push(sent.messageId);
      }
      await projections.waitFor(last);
      // The second message's event, altered in the store.
      await flipByte(
        `update ll_events set data = set_byte(data, 20, get_byte(data, 20) # 1)
         where stream_id = $1 and revision = 2`,
        [`conversation:${t.tenantId}:${conversationId}`],
      );
    });
    afterAll(async () => {
      await f?.close();
    });
    beforeEach(() => f.accessLog.clear());

    it('shows the rest of the page as each event’s own seal verifies, and marks the broken message', async () => {
      const page = await queries.messages(t.alice, conversationId);
      expect(page.items.map((m) => [m.messageId, m.content])).toEqual([
        [ids[0], { status: 'available', text: 'first' }],
        [ids[1], { status: 'integrity_failed' }],
        [ids[2], { status: 'available', text: 'third' }],
      ]);
      expect(f.alarms.some((a) => a.failure === 'hash_mismatch' && a.revision === 2n)).toBe(true);
    });

    it('records the broken message as a failed read with its reason, the rest as disclosed', async () => {
      await queries.messages(t.alice, conversationId);
      const records = f.accessLog.records.map((r) => ({
        action: r.action,
        outcome: r.outcome,
        reason: r.reason,
        targetIds: r.targetIds,
      }));
      expect(records).toEqual(
        expect.arrayContaining([
          {
            action: 'phi.history.read',
            outcome: 'allowed',
            reason: undefined,
            targetIds: [ids[0], ids[2]],
          },
          {
            action: 'phi.history.read',
            outcome: 'failed',
            reason: 'integrity_failed',
            targetIds: [ids[1]],
          },
        ]),
      );
      expect(records).toHaveLength(2);
    });

    it('an edit history of the broken message only is a failed read, not a disclosure', async () => {
      const history = await queries.editHistory(t.alice, conversationId, ids[1]!);
      expect(history.versions.map((v) => v.content)).toEqual([{ status: 'integrity_failed' }]);
      expect(f.accessLog.records).toEqual([
        expect.objectContaining({
          action: 'phi.edit_history.read',
          outcome: 'failed',
          reason: 'integrity_failed',
          targetIds: [ids[1]],
        }),
      ]);
    });

    it('a read stopped by a broken chain answers a typed error and is recorded failed', async () => {
      const failure = await queries
        .conversationEvents(t.alice, conversationId, { afterRevision: -1n })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(IntegrityError);
      expect(failure).toMatchObject({ code: 'integrity_violation', failure: 'hash_mismatch' });
      expect(f.accessLog.records).toEqual([
        expect.objectContaining({
          action: 'phi.realtime.sync',
          outcome: 'failed',
          reason: 'hash_mismatch',
        }),
      ]);
      expect(f.accessLog.records.some((r) => r.outcome === 'allowed')).toBe(false);
    });
  });
}
