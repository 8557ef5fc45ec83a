import type { Principal } from '@ledgerline/identity';
import { START_POSITION, ValidationError, type GlobalPosition } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import type { ConversationRequest } from '../application/conversation-commands.handler';
import type { ConversationQueries } from '../application/queries/conversation-queries.handler';
import type { MessageView } from '../application/queries/conversation-queries.views';
import {
  newTenant,
  openConversationsFixture,
  type CommandsInstance,
  type ConversationsFixture,
} from '../application/testing/conversations-fixture';
import { conversationStreamId, directConversationId } from '../domain/stream-ids';
import { CONVERSATION_PROJECTIONS, type ConversationProjections } from './conversation-projections';

// What users typed; none of it may rest in clear in a read model.
const TITLE = 'Cardiology rounds: Jane Roe';
const RENAMED = 'Cardiology rounds (Tue): Jane Roe';
const REDACTED_TEXT = 'CANARY-91b2 wrong patient, dx HIV';
const SHORTCODE = ':canary-91b2-dx:';

/** Every read-model table, row by row, in a stable order. */
async function dumpReadModels(f: ConversationsFixture): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const p of CONVERSATION_PROJECTIONS) {
    for (const table of p.tables) {
      const rows = await f.db.client.query<{ r: string }>(
        `select row_to_json(t)::text as r from ${table} t order by 1`,
      );
      out[table] = rows.map((row) => row.r);
    }
  }
  return out;
}

const texts = (page: { items: readonly MessageView[] }) =>
  page.items.map((m) =>
    m.content.status === 'available' ? m.content.text : `<${m.content.status}>`,
  );

for (const kind of availableDatabases()) {
  describe(`conversation projections on ${kind}`, () => {
    let f: ConversationsFixture;
    let projections: ConversationProjections;
    let queries: ConversationQueries;
    let commands: CommandsInstance;
    let last: GlobalPosition = START_POSITION;

    beforeAll(async () => {
      f = await openConversationsFixture(kind);
      commands = await f.newCommands();
      projections = await f.newProjections();
      projections.start();
      queries = f.newQueries();
    });
    afterAll(async () => {
      await f?.close();
    });

    async function run<R extends ConversationRequest>(principal: Principal, request: R) {
      const result = await commands.commands.execute(principal, request);
      if (result.position) last = result.position;
      return result;
    }
    const caughtUp = () => projections.waitFor(last);

    /** The scenario every read model is checked against. */
    async function scenario(t: ReturnType<typeof newTenant>) {
      const g = t.conversationId();
      await run(t.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId: g,
          title: TITLE,
          members: [
            { id: 'bob', kind: 'user', role: 'member' },
            { id: 'carol', kind: 'user', role: 'member' },
            { id: 'triage-bot', kind: 'agent', role: 'member' },
          ],
        },
      });
      await run(t.alice, {
        type: 'RenameConversation',
        data: { conversationId: g, title: RENAMED },
      });
      const send = async (
        who: Principal,
        clientMessageId: string,
        text: string,
        threadRootId?: string,
      ) =>
        await run(who, {
          type: 'SendMessage',
          data: {
            conversationId: g,
            clientMessageId,
            text,
            ...(threadRootId ? { threadRootId } : {}),
          },
        });
      const m1 = await send(t.bob, 'm1', 'first');
      const m2 = await send(t.carol, 'm2', 'second');
      const r1 = await send(t.alice, 'r1', 'reply one', m1.messageId);
      const r2 = await send(t.bob, 'r2', 'reply two', m1.messageId);
      for (const text of ['second (edited)', 'second (edited twice)']) {
        await run(t.carol, {
          type: 'EditMessage',
          data: { conversationId: g, messageId: m2.messageId, text },
        });
      }
      const m3 = await send(t.bob, 'm3', REDACTED_TEXT);
      await run(t.bob, {
        type: 'RedactMessage',
        data: { conversationId: g, messageId: m3.messageId },
      });
      const react = async (who: Principal, messageId: string, emoji: string, add = true) =>
        run(who, {
          type: add ? 'AddReaction' : 'RemoveReaction',
          data: { conversationId: g, messageId, emoji },
        });
      await react(t.alice, m1.messageId, '👍');
      await react(t.carol, m1.messageId, '👍');
      await react(t.carol, m1.messageId, '❤️');
      await react(t.carol, m1.messageId, '❤️', false);
      await react(t.bob, m2.messageId, SHORTCODE);
      const deliver = (who: Principal, deviceId: string, upToMessageId: string) =>
        run(who, { type: 'MarkDelivered', data: { conversationId: g, deviceId, upToMessageId } });
      await deliver(t.carol, 'ios-1', m2.messageId);
      await deliver(t.carol, 'web-1', r2.messageId);
      await deliver(t.alice, 'web', m1.messageId);
      await run(t.carol, {
        type: 'MarkRead',
        data: { conversationId: g, upToMessageId: m2.messageId },
      });
      await run(t.alice, {
        type: 'AddMember',
        data: { conversationId: g, member: { id: 'dave', kind: 'user' }, role: 'member' },
      });
      const m4 = await send(t.bob, 'm4', 'after dave');
      await run(t.bot, { type: 'LeaveConversation', data: { conversationId: g } });

      const archived = t.conversationId();
      await run(t.bob, {
        type: 'CreateGroupConversation',
        data: {
          conversationId: archived,
          title: 'Old case',
          members: [{ id: 'alice', kind: 'user', role: 'member' }],
        },
      });
      await run(t.bob, { type: 'ArchiveConversation', data: { conversationId: archived } });

      const d = directConversationId(t.tenantId, 'alice', 'dave');
      await run(t.alice, {
        type: 'CreateDirectConversation',
        data: {
          conversationId: d,
          participants: [
            { id: 'alice', kind: 'user' },
            { id: 'dave', kind: 'user' },
          ],
        },
      });
      const hi = await run(t.dave, {
        type: 'SendMessage',
        data: { conversationId: d, clientMessageId: 'hi', text: 'hi alice' },
      });
      await caughtUp();
      return { g, archived, d, m1, m2, r1, r2, m3, m4, hi };
    }

    it('builds every read model from the events', async () => {
      const t = newTenant();
      const s = await scenario(t);

      // Conversation list: newest activity first, unread counts, titles and previews opened.
      const alice = await queries.listConversations(t.alice);
      expect(alice.items.map((c) => c.conversationId)).toEqual([s.d, s.archived, s.g]);
      const [direct, archived, group] = alice.items;
      expect(direct).toMatchObject({
        kind: 'direct',
        peerId: 'dave',
        title: undefined,
        unreadCount: 1,
        role: 'member',
        muted: false,
        lastMessage: {
          messageId: s.hi.messageId,
          authorId: 'dave',
          preview: { status: 'available', text: 'hi alice' },
        },
      });
      expect(archived).toMatchObject({
        archived: true,
        title: { status: 'available', title: 'Old case' },
      });
      expect(group).toMatchObject({
        kind: 'group',
        archived: false,
        role: 'owner',
        title: { status: 'available', title: RENAMED },
        // m1, m2, r2 and m4 by others; r1 is her own, m3 was redacted.
        unreadCount: 4,
        lastMessage: {
          messageId: s.m4.messageId,
          authorId: 'bob',
          preview: { status: 'available', text: 'after dave' },
        },
      });
      expect(
        (await queries.listConversations(t.alice, { archived: false })).items.map(
          (c) => c.conversationId,
        ),
      ).toEqual([s.d, s.g]);
      const firstTwo = await queries.listConversations(t.alice, { limit: 2 });
      expect(firstTwo.more).toBe(true);
      const rest = await queries.listConversations(t.alice, { before: firstTwo.endCursor! });
      expect(rest.items.map((c) => c.conversationId)).toEqual([s.g]);
      const unread = async (p: Principal) =>
        (await queries.listConversations(p)).items.find((c) => c.conversationId === s.g)
          ?.unreadCount;
      expect(await unread(t.bob)).toBe(2); // m2, r1
      expect(await unread(t.carol)).toBe(3); // read up to m2: r1, r2, m4
      expect(await unread(t.dave)).toBe(1); // joined after m3: m4
      // The agent left: the conversation is gone from its list, and its history closed to it.
      expect(await unread(t.bot)).toBeUndefined();
      await expect(queries.messages(t.bot, s.g)).rejects.toMatchObject({ code: 'not_a_member' });

      // History: by position both ways, thread replies in place, edits and redaction applied.
      const all = await queries.messages(t.bob, s.g);
      expect(texts(all)).toEqual([
        'first',
        'second (edited twice)',
        'reply one',
        'reply two',
        '<redacted>',
        'after dave',
      ]);
      expect(all.items.map((m) => m.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(all.items[0]).toMatchObject({
        replyCount: 2,
        threadRootId: undefined,
        authorId: 'bob',
      });
      expect(all.items[1]).toMatchObject({ editCount: 2 });
      expect(all.items[2]).toMatchObject({ threadRootId: s.m1.messageId });
      const newest = await queries.messages(t.bob, s.g, { limit: 2 });
      expect(texts(newest)).toEqual(['<redacted>', 'after dave']);
      expect(newest.more).toBe(true);
      const older = await queries.messages(t.bob, s.g, { limit: 2, before: newest.startCursor! });
      expect(texts(older)).toEqual(['reply one', 'reply two']);
      const oldest = await queries.messages(t.bob, s.g, { limit: 2, before: older.startCursor! });
      expect(texts(oldest)).toEqual(['first', 'second (edited twice)']);
      expect(oldest.more).toBe(false);
      const forwards = await queries.messages(t.bob, s.g, { limit: 3, after: oldest.endCursor! });
      expect(texts(forwards)).toEqual(['reply one', 'reply two', '<redacted>']);
      expect(forwards.more).toBe(true);
      const end = await queries.messages(t.bob, s.g, { after: forwards.endCursor! });
      expect(texts(end)).toEqual(['after dave']);
      expect(end.more).toBe(false);
      await expect(queries.messages(t.bob, s.g, { limit: 51 })).rejects.toMatchObject({
        code: 'page_size_out_of_range',
        limit: 50,
      });
      await expect(queries.messages(t.bob, s.g, { after: 'nonsense' })).rejects.toMatchObject({
        code: 'invalid_cursor',
      });

      // Thread.
      const thread = await queries.thread(t.carol, s.g, s.m1.messageId);
      expect(thread.root.messageId).toBe(s.m1.messageId);
      expect(texts(thread.replies)).toEqual(['reply one', 'reply two']);
      await expect(queries.thread(t.carol, s.g, s.r1.messageId)).rejects.toMatchObject({
        code: 'message_not_found',
      });

      // Edit history: every version, oldest first; nothing of a redacted message.
      const edits = await queries.editHistory(t.alice, s.g, s.m2.messageId);
      expect(edits.versions.map((v) => [v.editNumber, v.editorId, v.content])).toEqual([
        [0, 'carol', { status: 'available', text: 'second' }],
        [1, 'carol', { status: 'available', text: 'second (edited)' }],
        [2, 'carol', { status: 'available', text: 'second (edited twice)' }],
      ]);
      expect(await queries.editHistory(t.alice, s.g, s.m3.messageId)).toEqual({
        messageId: s.m3.messageId,
        redacted: true,
        versions: [],
      });

      // Reactions: counts per emoji, who, and whether the reader is among them.
      expect(await queries.reactions(t.carol, s.g, s.m1.messageId)).toEqual({
        messageId: s.m1.messageId,
        incomplete: false,
        reactions: [{ emoji: '👍', count: 2, memberIds: ['alice', 'carol'], mine: true }],
      });
      expect((await queries.reactions(t.alice, s.g, s.m2.messageId)).reactions).toEqual([
        { emoji: SHORTCODE, count: 1, memberIds: ['bob'], mine: false },
      ]);

      // Receipts: devices a message reached, members who read it; and every mark.
      const receipts = await queries.messageReceipts(t.bob, s.g, s.m2.messageId);
      expect(receipts.delivered.map((d) => [d.memberId, d.deviceId, d.upToSequence])).toEqual([
        ['carol', 'ios-1', 2],
        ['carol', 'web-1', 4],
      ]);
      expect(receipts.read.map((r) => [r.memberId, r.upToSequence])).toEqual([['carol', 2]]);
      const everything = await queries.receipts(t.bob, s.g);
      expect(everything.delivered.map((d) => [d.memberId, d.deviceId, d.upToMessageId])).toEqual([
        ['alice', 'web', s.m1.messageId],
        ['carol', 'ios-1', s.m2.messageId],
        ['carol', 'web-1', s.r2.messageId],
      ]);

      // Nothing a user typed rests in clear in any read model.
      const rest2 = JSON.stringify(await dumpReadModels(f));
      for (const typed of [TITLE, RENAMED, 'CANARY-91b2', 'canary-91b2-dx', 'after dave', '👍']) {
        expect(rest2).not.toContain(typed);
      }
    });

    it('rebuilds from zero to exactly the live read models', async () => {
      await scenario(newTenant());
      const live = await dumpReadModels(f);
      const outcomes = await projections.rebuildProjections();
      expect(outcomes.map((o) => o.name)).toEqual(CONVERSATION_PROJECTIONS.map((p) => p.name));
      expect(outcomes.every((o) => o.eventsApplied > 0)).toBe(true);
      const rebuilt = await dumpReadModels(f);
      expect(rebuilt).toEqual(live);

      // One by name; the rebuilt projection keeps running live afterwards.
      const [one] = await projections.rebuildProjections(['reactions']);
      expect(one).toMatchObject({ name: 'reactions', generation: 3 });
      expect(await dumpReadModels(f)).toEqual(live);
      await expect(projections.rebuildProjections(['nope'])).rejects.toBeInstanceOf(
        ValidationError,
      );
      const t = newTenant();
      const s = await scenario(t);
      expect((await queries.reactions(t.alice, s.g, s.m1.messageId)).reactions).toHaveLength(1);
    });

    it('messages applied as one batch leave exactly the rows of one event at a time', async () => {
      const t = newTenant();
      const s = await scenario(t);
      const d = t.conversationId();
      await run(t.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId: d,
          title: TITLE,
          members: [
            { id: 'bob', kind: 'user', role: 'member' },
            { id: 'carol', kind: 'user', role: 'member' },
          ],
        },
      });
      // A burst over two conversations: runs of sends (replies to one root, mentions), broken by
      // a read mark and an edit, so the batch path meets run boundaries as well as long runs.
      const burst = (n: number, at: string) =>
        Promise.all(
          Array.from({ length: n }, (_, i) => {
            const who = [t.alice, t.bob, t.carol][i % 3]!;
            return run(who, {
              type: 'SendMessage',
              data: {
                conversationId: i % 2 === 0 ? s.g : d,
                clientMessageId: `${at}-${i}`,
                text: `burst ${i} <@carol>`,
                ...(i % 4 === 2 ? { threadRootId: s.m1.messageId } : {}),
              },
            });
          }),
        );
      const first = await burst(24, 'a');
      await run(t.carol, {
        type: 'MarkRead',
        data: { conversationId: s.g, upToMessageId: first[4]!.messageId },
      });
      await run(t.carol, {
        type: 'EditMessage',
        data: { conversationId: s.g, messageId: s.m2.messageId, text: 'second (edited again)' },
      });
      await burst(24, 'b');
      await caughtUp();

      // The default processor rebuilds in batches of up to 256 events (runs of sends in one
      // statement per table); one with batches of one applies every event alone.
      await projections.rebuildProjections();
      const batched = await dumpReadModels(f);
      const oneByOne = await f.newProjections({ batchMax: 1 });
      await oneByOne.rebuildProjections();
      expect(await dumpReadModels(f)).toEqual(batched);
      const unread = batched['ll_conv_list_members']!.filter((r) => r.includes(d));
      expect(unread.some((r) => /"unread_count":[1-9]/.test(r))).toBe(true);
    });

    it('a second node reading the same log applies nothing twice (checkpoints commit with rows)', async () => {
      await scenario(newTenant());
      const before = await dumpReadModels(f);
      // Another process's processor, starting from the same checkpoints, racing this one.
      const other = await f.newProjections();
      other.start();
      const t = newTenant();
      await scenario(t);
      await Promise.all([caughtUp(), other.waitFor(last)]);
      await other.stop();
      const after = await dumpReadModels(f);
      // Everything before is unchanged, and the new tenant's rows are there once.
      for (const [table, rows] of Object.entries(before)) {
        expect(after[table]).toEqual(expect.arrayContaining(rows));
        expect(new Set(after[table]).size).toBe(after[table]!.length);
      }
      expect(after['ll_conv_messages']!.length).toBeGreaterThan(before['ll_conv_messages']!.length);
      await projections.rebuildProjections();
      expect(await dumpReadModels(f)).toEqual(after);
    });

    it('a shredded conversation shows its text as unavailable, and projections carry on', async () => {
      const t = newTenant();
      const s = await scenario(t);
      await f.lifecycle.shred({
        tenantId: t.tenantId,
        streamId: conversationStreamId(t.tenantId, s.g),
        reason: 'retention ended',
        actor: { id: 'admin', kind: 'user' },
      });

      const history = await queries.messages(t.bob, s.g);
      expect(texts(history)).toEqual([
        '<unavailable>',
        '<unavailable>',
        '<unavailable>',
        '<unavailable>',
        '<redacted>',
        '<unavailable>',
      ]);
      const group = (await queries.listConversations(t.alice)).items.find(
        (c) => c.conversationId === s.g,
      );
      expect(group).toMatchObject({
        title: { status: 'unavailable' },
        lastMessage: { preview: { status: 'unavailable' } },
        unreadCount: 4,
      });
      expect(
        (await queries.editHistory(t.alice, s.g, s.m2.messageId)).versions.map((v) => v.content),
      ).toEqual([{ status: 'unavailable' }, { status: 'unavailable' }, { status: 'unavailable' }]);
      expect(await queries.reactions(t.alice, s.g, s.m1.messageId)).toMatchObject({
        incomplete: true,
        reactions: [],
      });

      // Projections go on: a new message in another conversation is projected.
      const after = await run(t.alice, {
        type: 'SendMessage',
        data: { conversationId: s.d, clientMessageId: 'after-shred', text: 'still here' },
      });
      await caughtUp();
      expect(texts(await queries.messages(t.dave, s.d))).toEqual(['hi alice', 'still here']);
      expect(after.duplicate).toBe(false);

      // A rebuild after the shred replays the shredded events as unreadable and finishes: what
      // only they said (here the whole group, its members included) is no longer known.
      await projections.rebuildProjections();
      const list = await queries.listConversations(t.alice);
      expect(list.items.map((c) => c.conversationId)).toEqual([s.d, s.archived]);
      expect(texts(await queries.messages(t.dave, s.d))).toEqual(['hi alice', 'still here']);
      expect(f.alarms).toEqual([]);
    });
  });
}
