import { accessActorOf, type Principal } from '@ledgerline/identity';
import { LATEST, UnavailableError, type AsOf } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import { conversationStreamId } from '../../domain/stream-ids';
import type { ConversationProjections } from '../../projections/conversation-projections';
import type {
  ConversationCommandResult,
  ConversationRequest,
} from '../conversation-commands.handler';
import {
  openConversationsFixture,
  newTenant,
  type CommandsInstance,
  type ConversationsFixture,
} from '../testing/conversations-fixture';
import type { ReplayedMessage } from '../../domain/conversation.replay';
import { ReplayConversationNotFoundError } from './conversation-replay.errors';
import { PointInTimeReplay, type ReplayRequester } from './conversation-replay.handler';
import { SqlReplayHints } from '../../adapters/sql-replay-hints.adapter';

const ORIGINAL = 'CANARY-7f2a BP 120/80 for Jane Roe';
const EDITED = 'CANARY-7f2a BP 130/85 for Jane Roe';

const textOf = (m: ReplayedMessage | undefined) =>
  m?.content.status === 'available' ? m.content.text : m?.content.status;
const versions = (m: ReplayedMessage | undefined) =>
  m?.versions.map((v) => (v.content.status === 'available' ? v.content.text : v.content.status));

for (const kind of availableDatabases()) {
  // The permission checks in front of it are libs/audit's (AuditorReplay, its own spec); the CLI
  // and e2e specs run the two together.
  describe(`PointInTimeReplay on ${kind}`, () => {
    let f: ConversationsFixture;
    let projections: ConversationProjections;
    let replay: PointInTimeReplay;
    let t: ReturnType<typeof newTenant>;
    let a: CommandsInstance;
    let auditor: ReplayRequester;

    beforeAll(async () => {
      f = await openConversationsFixture(kind);
      projections = await f.newProjections();
      projections.start();
      replay = new PointInTimeReplay(
        f.accessLog,
        f.ledger,
        f.store,
        SqlReplayHints.over(f.db.client),
        { pageSize: 3 }, // several pages per stream and per `$all` scan
      );
    });
    afterAll(async () => {
      await f?.close();
    });
    beforeEach(async () => {
      t = newTenant();
      a = await f.newCommands();
      auditor = {
        ...requesterOf(t.auditor),
        origin: { transport: 'http', clientAddress: '203.0.113.9', userAgent: 'replay-test' },
      };
      f.accessLog.clear();
    });

    /** Runs a command a minute after the previous one; answers its result and the time before it. */
    async function run(principal: Principal, request: ConversationRequest) {
      f.clock.advance(60_000);
      const result = (await a.commands.execute(principal, request)) as ConversationCommandResult & {
        messageId?: string;
      };
      return result;
    }
    /** A moment strictly between the last command and the next one. */
    function now(): AsOf {
      const at = f.clock.now();
      return { kind: 'time', at: new Date(at.getTime() + 1) };
    }

    async function group(members: string[], by = t.alice) {
      const conversationId = t.conversationId();
      await run(by, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title: 'Ward 4 handover',
          members: members.map((id) => ({ id, kind: 'user' as const, role: 'member' as const })),
        },
      });
      return conversationId;
    }
    const send = async (by: Principal, conversationId: string, text: string) =>
      (
        await run(by, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: `c-${Math.random()}`, text },
        })
      ).messageId!;

    it('as of before an edit shows the original; after it the edit; a later redaction shows the text as it was', async () => {
      const g = await group(['bob', 'carol']);
      const m1 = await send(t.bob, g, ORIGINAL);
      const beforeEdit = now();
      const edit = await run(t.bob, {
        type: 'EditMessage',
        data: { conversationId: g, messageId: m1, text: EDITED },
      });
      const afterEdit = now();
      const m2 = await send(t.carol, g, 'CANARY wrong chart');
      const beforeRedaction = now();
      await run(t.alice, {
        type: 'RedactMessage',
        data: { conversationId: g, messageId: m2, reason: 'wrong patient' },
      });

      const atBefore = await replay.replayConversation(auditor, g, beforeEdit);
      expect(atBefore.messages.map(textOf)).toEqual([ORIGINAL]);
      expect(atBefore.messages[0]!.later.edits).toBe(1);

      const atAfter = await replay.replayConversation(auditor, g, afterEdit);
      expect(atAfter.messages.map(textOf)).toEqual([EDITED]);
      expect(versions(atAfter.messages[0])).toEqual([ORIGINAL, EDITED]);

      // The same moment as a position: the edit's own event is included.
      const atEditPosition = await replay.replayConversation(auditor, g, {
        kind: 'position',
        position: edit.position!,
      });
      expect(atEditPosition.messages.map(textOf)).toEqual([EDITED]);

      const atBeforeRedaction = await replay.replayConversation(auditor, g, beforeRedaction);
      expect(atBeforeRedaction.messages[1]).toMatchObject({
        messageId: m2,
        authorId: 'carol',
        content: { status: 'available', text: 'CANARY wrong chart' },
        redaction: undefined,
      });
      expect(atBeforeRedaction.messages[1]!.later.redactedAt).toBeInstanceOf(Date);

      // Now: the auditor sees the redacted message's text, who redacted it and why.
      const latest = await replay.replayConversation(auditor, g, LATEST);
      expect(latest.messages[1]).toMatchObject({
        content: { status: 'available', text: 'CANARY wrong chart' },
        redaction: { byId: 'alice', reason: 'wrong patient' },
      });
      expect(latest.title).toEqual({ status: 'available', text: 'Ward 4 handover' });
      expect(latest.members.map((m) => [m.id, m.role, m.isMember])).toEqual([
        ['alice', 'owner', true],
        ['bob', 'member', true],
        ['carol', 'member', true],
      ]);
      expect(f.accessLog.records).toHaveLength(5); // one per replay
    });

    it('a replay writes exactly one access record, with every field set', async () => {
      const g = await group(['bob']);
      await send(t.bob, g, ORIGINAL);
      f.accessLog.clear();
      await replay.replayConversation(auditor, g, LATEST);
      expect(f.accessLog.records).toEqual([
        {
          tenantId: t.tenantId,
          actor: { id: 'audrey', kind: 'user', roles: ['auditor'] },
          action: 'audit.replayed',
          outcome: 'allowed',
          conversationId: g,
          targetIds: [g],
          subjectUserIds: ['alice', 'bob'],
          origin: { transport: 'http', clientAddress: '203.0.113.9', userAgent: 'replay-test' },
        },
      ]);
      expect(JSON.stringify(f.accessLog.records)).not.toContain('CANARY');

      f.accessLog.clear();
      await replay.conversationHistory(auditor, g);
      expect(f.accessLog.records.map((r) => [r.action, r.conversationId])).toEqual([
        ['audit.conversation_history.read', g],
      ]);
    });

    it('the auditor’s history is metadata by default; content only with a stated reason, recorded with it', async () => {
      const g = await group(['bob']);
      const m1 = await send(t.bob, g, ORIGINAL);
      await run(t.bob, {
        type: 'EditMessage',
        data: { conversationId: g, messageId: m1, text: EDITED },
      });
      const m2 = await send(t.alice, g, 'CANARY wrong chart');
      await run(t.alice, {
        type: 'RedactMessage',
        data: { conversationId: g, messageId: m2, reason: 'CANARY wrong patient' },
      });

      const metadata = await replay.conversationHistory(auditor, g);
      expect(metadata.messages.map((m) => [m.messageId, m.authorId, textOf(m)])).toEqual([
        [m1, 'bob', 'withheld'],
        [m2, 'alice', 'withheld'],
      ]);
      expect(versions(metadata.messages[0])).toEqual(['withheld', 'withheld']);
      expect(metadata.title).toEqual({ status: 'withheld' });
      expect(metadata.messages[1]!.redaction).toEqual({
        at: expect.any(Date) as Date,
        byId: 'alice',
        byKind: 'user',
      });
      expect(
        JSON.stringify(metadata, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      ).not.toContain('CANARY');
      expect(f.accessLog.records).toEqual([
        expect.objectContaining({
          action: 'audit.conversation_history.read',
          permission: 'audit.read',
          outcome: 'allowed',
        }),
      ]);
      expect(f.accessLog.records[0]!.reason).toBeUndefined();
      f.accessLog.clear();

      const investigator = requesterOf({ ...t.auditor, id: 'ivan', roles: ['investigator'] });
      const full = await replay.conversationHistory(investigator, g, LATEST, {
        reason: 'case 2026-114',
      });
      expect(full.messages.map(textOf)).toEqual([EDITED, 'CANARY wrong chart']);
      expect(f.accessLog.records).toEqual([
        expect.objectContaining({
          actor: { id: 'ivan', kind: 'user', roles: ['investigator'] },
          action: 'audit.conversation_history.read',
          permission: 'audit.content',
          reason: 'case 2026-114',
          outcome: 'allowed',
          subjectUserIds: ['alice', 'bob'],
        }),
      ]);
    });

    it('fails closed: no answer when the access record cannot be written', async () => {
      const g = await group(['bob']);
      f.accessLog.failWith(new UnavailableError('audit stream down'));
      try {
        await expect(replay.replayConversation(auditor, g, LATEST)).rejects.toThrow(
          UnavailableError,
        );
        await expect(replay.replayUserView(auditor, 'bob', LATEST)).rejects.toThrow(
          UnavailableError,
        );
      } finally {
        f.accessLog.failWith(undefined);
      }
    });

    it('an unknown conversation is not found and records nothing', async () => {
      const g = await group(['bob']);
      f.accessLog.clear();
      await expect(replay.replayConversation(auditor, t.conversationId(), LATEST)).rejects.toThrow(
        ReplayConversationNotFoundError,
      );
      // Another tenant's conversation is unknown here, however real it is there.
      const other = newTenant();
      await expect(
        replay.replayConversation(requesterOf(other.auditor), g, LATEST),
      ).rejects.toThrow(ReplayConversationNotFoundError);
      expect(f.accessLog.records).toEqual([]);
    });

    it("a user's view: only conversations they were in then, redactions before then hidden", async () => {
      const ward = await group(['bob', 'carol']);
      const m1 = await send(t.carol, ward, 'CANARY redacted before T');
      await run(t.alice, {
        type: 'RedactMessage',
        data: { conversationId: ward, messageId: m1, reason: 'wrong patient' },
      });
      const m2 = await send(t.carol, ward, 'seen by bob');
      const left = await group(['bob']);
      await run(t.bob, { type: 'LeaveConversation', data: { conversationId: left } });
      const notBob = await group(['carol']);
      const T = now();
      const positionAtT = await f.store.headPosition();
      // After T: bob joins a new one, and a message in the ward is redacted and one edited.
      const later = await group(['carol']);
      await run(t.alice, {
        type: 'AddMember',
        data: { conversationId: later, member: { id: 'bob', kind: 'user' }, role: 'member' },
      });
      await run(t.alice, {
        type: 'RedactMessage',
        data: { conversationId: ward, messageId: m2, reason: 'later' },
      });

      f.accessLog.clear();
      const view = await replay.replayUserView(auditor, 'bob', T);
      expect(view.conversations.map((c) => c.conversationId)).toEqual([ward]);
      expect(view.undetermined).toEqual([]);
      const [seen] = view.conversations;
      expect(seen!.messages.map((m) => [m.messageId, m.content])).toEqual([
        [m1, { status: 'redacted' }],
        [m2, { status: 'available', text: 'seen by bob' }],
      ]);
      expect(seen!.messages[0]!.versions).toEqual([]);
      expect(seen!.messages[1]!.later.redactedAt).toBeInstanceOf(Date);
      expect(
        JSON.stringify(seen, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)),
      ).not.toContain('CANARY');
      expect(seen!.members.map((m) => m.id)).toEqual(['alice', 'bob', 'carol']);

      expect(f.accessLog.records).toEqual([
        expect.objectContaining({
          action: 'audit.replayed',
          outcome: 'allowed',
          resourceType: 'conversation',
          targetIds: [ward],
          subjectUserIds: ['alice', 'bob', 'carol'],
        }),
      ]);

      // Now bob sees the later conversation too, and not the one he left.
      const today = await replay.replayUserView(auditor, 'bob', LATEST);
      expect(today.conversations.map((c) => c.conversationId)).toEqual([ward, later]);
      expect(
        (await replay.replayUserView(auditor, 'carol', T)).conversations.map(
          (c) => c.conversationId,
        ),
      ).toEqual([ward, notBob]);
      // As of a position (the last event before T): the same cut.
      const byPosition = await replay.replayUserView(auditor, 'bob', {
        kind: 'position',
        position: positionAtT,
      });
      expect(byPosition.conversations.map((c) => c.conversationId)).toEqual([ward]);
    });

    it('shredded content is unavailable, never guessed; the read models still name its messages', async () => {
      f.clock.set('2026-11-25T10:00:00.000Z');
      const g = await group(['bob']);
      const m1 = await send(t.bob, g, 'CANARY November text');
      await projections.waitFor(await f.store.headPosition());
      f.clock.set('2026-12-02T10:00:00.000Z');
      await run(t.bob, {
        type: 'EditMessage',
        data: { conversationId: g, messageId: m1, text: 'December edit' },
      });
      const m2 = await send(t.alice, g, 'December message');
      await projections.waitFor(await f.store.headPosition());

      await f.lifecycle.shred({
        tenantId: t.tenantId,
        streamId: conversationStreamId(t.tenantId, g),
        epoch: '2026-11',
        reason: 'retention ended',
        actor: { id: 'admin', kind: 'user' },
      });

      const latest = await replay.replayConversation(auditor, g, LATEST);
      expect(latest.existed).toBe(true);
      expect(latest.title).toEqual({ status: 'unavailable' });
      expect(latest.messages.map((m) => [m.messageId, m.authorId, versions(m)])).toEqual([
        [m1, 'bob', ['unavailable', 'December edit']],
        [m2, 'alice', ['December message']],
      ]);
      // Who the members were was sealed with the creation: a gap, said out loud.
      expect(latest.gaps.map((gap) => [gap.type, gap.reason])).toEqual([
        ['GroupConversationCreated', 'key_shredded'],
      ]);
      expect(
        JSON.stringify(latest, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)),
      ).not.toContain('CANARY');

      // As of November the message is there, unreadable.
      const november = await replay.replayConversation(auditor, g, {
        kind: 'time',
        at: new Date('2026-11-30T00:00:00Z'),
      });
      expect(november.messages.map((m) => [m.messageId, m.content])).toEqual([
        [m1, { status: 'unavailable' }],
      ]);
      expect(november.messages[0]!.later.edits).toBe(1);

      // Bob's membership was in the shredded creation: neither shown nor ruled out.
      const bobs = await replay.replayUserView(auditor, 'bob', LATEST);
      expect(bobs.conversations).toEqual([]);
      expect(bobs.undetermined).toEqual([g]);
      expect(f.alarms).toEqual([]);
    });
  });
}

function requesterOf(principal: Principal): ReplayRequester {
  return { tenantId: principal.tenantId, actor: accessActorOf(principal) };
}
