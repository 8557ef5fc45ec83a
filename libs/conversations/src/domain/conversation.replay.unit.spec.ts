import { LATEST, type AsOf } from '@ledgerline/kernel';
import type {
  ConversationActor,
  ConversationEvent,
  ConversationEventBase,
  ConversationEventType,
  Member,
} from './conversation.events';
import {
  asSeenByMember,
  foldConversationAsOf,
  membershipUndetermined,
  participantsOf,
  wasMemberAt,
  type ConversationAsOf,
  type ReplayEvent,
  type ReplayedMessage,
} from './conversation.replay';
import { foldConversation } from './conversation.state';

// ---- given / when / then on opened events --------------------------------------------------------

const TENANT = 'clinic-a';
const CONVERSATION = '0190f1a2-0000-7000-8000-000000000001';
const alice = { id: 'alice', kind: 'user' } as const;
const bob = { id: 'bob', kind: 'user' } as const;
const carol = { id: 'carol', kind: 'user' } as const;

/** Minute `n` after 10:00 on 2026-11-25: each event below is recorded at its own minute. */
const minute = (n: number) => new Date(Date.UTC(2026, 10, 25, 10, n));
const at = (n: number): AsOf => ({ kind: 'time', at: minute(n) });

type DataOf<T extends ConversationEventType> = Omit<
  Extract<ConversationEvent, { type: T }>['data'],
  keyof ConversationEventBase
>;

interface Step {
  readonly event: ConversationEvent;
  readonly minute: number;
  readonly shredded: boolean;
}

function step<T extends ConversationEventType>(
  n: number,
  type: T,
  actor: ConversationActor,
  data: DataOf<T>,
): Step {
  const event = {
    type,
    v: 1,
    data: {
      tenantId: TENANT,
      conversationId: CONVERSATION,
      actor,
      at: minute(n).toISOString(),
      ...data,
    },
  } as unknown as ConversationEvent;
  return { event, minute: n, shredded: false };
}

/** The same event with its data key destroyed: only type, actor and time are left in clear. */
const shredded = (s: Step): Step => ({ ...s, shredded: true });

/** An event as the ledger opened it: clear metadata, and the event unless its key was shredded. */
interface OpenedStep extends ReplayEvent {
  readonly event: ConversationEvent | undefined;
}

function opened(steps: readonly Step[]): OpenedStep[] {
  return steps.map((s, i) => {
    const { actor } = s.event.data;
    return {
      revision: BigInt(i),
      position: { commit: 100n + BigInt(i), prepare: BigInt(i) },
      eventId: `event-${i}`,
      type: s.event.type,
      recordedAt: minute(s.minute),
      metadata: { actor: { id: actor.id, kind: actor.kind } },
      event: s.shredded ? undefined : s.event,
    };
  });
}

function given(...steps: Step[]) {
  return {
    whenReplayedAsOf(asOf: AsOf, hints?: ReadonlyMap<bigint, string>): ConversationAsOf {
      return foldConversationAsOf(TENANT, CONVERSATION, opened(steps), asOf, (e) => e.event, {
        messageIdsByRevision: hints ?? new Map(),
      });
    },
  };
}

const member = (p: { id: string; kind: 'user' }, role: Member['role']): Member => ({
  ...p,
  role,
});

const created = step(0, 'GroupConversationCreated', alice, {
  title: 'Ward 3 handover',
  members: [member(alice, 'owner'), member(bob, 'member')],
});
const sent = (n: number, id: string, text: string, by: ConversationActor = alice) =>
  step(n, 'MessageSent', by, {
    messageId: id,
    clientMessageId: `c-${id}`,
    sequence: Number(id.replace(/\D/g, '')) || 1,
    text,
    mentions: [],
  });
const edited = (n: number, id: string, text: string, editNumber: number) =>
  step(n, 'MessageEdited', alice, { messageId: id, text, mentions: [], editNumber });
const redacted = (n: number, id: string, by: ConversationActor, reason?: string) =>
  step(n, 'MessageRedacted', by, {
    messageId: id,
    authorId: alice.id,
    ...(reason === undefined ? {} : { reason }),
  });

const texts = (m: ReplayedMessage | undefined) =>
  m?.versions.map((v) => (v.content.status === 'available' ? v.content.text : v.content.status));
const json = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
const textOf = (m: ReplayedMessage | undefined) =>
  m?.content.status === 'available' ? m.content.text : m?.content.status;

describe('point-in-time replay of a conversation stream', () => {
  describe('edits', () => {
    const history = given(
      created,
      sent(1, 'm1', 'BP 120/80'),
      edited(3, 'm1', 'BP 130/85', 1),
      edited(5, 'm1', 'BP 135/90', 2),
    );

    it('before an edit: the original text, the edits noted as later, not applied', () => {
      const replay = history.whenReplayedAsOf(at(2));
      const [m1] = replay.messages;
      expect(textOf(m1)).toBe('BP 120/80');
      expect(texts(m1)).toEqual(['BP 120/80']);
      expect(m1!.later).toEqual({ edits: 2, redactedAt: undefined });
      expect(replay.eventsFolded).toBe(2);
      expect(replay.eventsAfter).toBe(2);
    });

    it('between edits: the first edit applies, with every version up to then', () => {
      const [m1] = history.whenReplayedAsOf(at(4)).messages;
      expect(textOf(m1)).toBe('BP 130/85');
      expect(texts(m1)).toEqual(['BP 120/80', 'BP 130/85']);
      expect(m1!.versions.map((v) => [v.editNumber, v.editorId, v.at])).toEqual([
        [0, 'alice', minute(1)],
        [1, 'alice', minute(3)],
      ]);
      expect(m1!.later.edits).toBe(1);
    });

    it('an event recorded exactly at the moment is included', () => {
      expect(textOf(history.whenReplayedAsOf(at(5)).messages[0])).toBe('BP 135/90');
    });

    it('as of a position: the events at or before it', () => {
      const byPosition = history.whenReplayedAsOf({
        kind: 'position',
        position: { commit: 102n, prepare: 2n },
      });
      expect(texts(byPosition.messages[0])).toEqual(['BP 120/80', 'BP 130/85']);
      expect(byPosition.lastRevision).toBe(2n);
    });

    it('before the conversation was created: it did not exist yet', () => {
      const replay = history.whenReplayedAsOf({
        kind: 'time',
        at: new Date(minute(0).getTime() - 1),
      });
      expect(replay.existed).toBe(false);
      expect(replay.messages).toEqual([]);
      expect(replay.members).toEqual([]);
    });
  });

  describe('redactions', () => {
    const history = given(
      created,
      sent(1, 'm1', 'Patient allergic to penicillin'),
      edited(2, 'm1', 'Patient allergic to penicillin and latex', 1),
      redacted(4, 'm1', bob, 'wrong patient'),
    );

    it('before the redaction: the text as it was, the redaction noted as later', () => {
      const [m1] = history.whenReplayedAsOf(at(3)).messages;
      expect(m1!.redaction).toBeUndefined();
      expect(textOf(m1)).toBe('Patient allergic to penicillin and latex');
      expect(m1!.later.redactedAt).toEqual(minute(4));
    });

    it('after it, for an auditor: redacted, who, when and why, and the text and versions it had', () => {
      const [m1] = history.whenReplayedAsOf(at(10)).messages;
      expect(m1!.redaction).toEqual({
        at: minute(4),
        byId: 'bob',
        byKind: 'user',
        reason: 'wrong patient',
      });
      expect(textOf(m1)).toBe('Patient allergic to penicillin and latex');
      expect(texts(m1)).toEqual([
        'Patient allergic to penicillin',
        'Patient allergic to penicillin and latex',
      ]);
    });

    it('after it, as a member saw it: redacted, with no text, versions, reason or redactor', () => {
      const [m1] = asSeenByMember(history.whenReplayedAsOf(at(10))).messages;
      expect(m1!.content).toEqual({ status: 'redacted' });
      expect(m1!.versions).toEqual([]);
      expect(m1!.redaction).toEqual({ at: minute(4) });
      expect(json(m1)).not.toContain('penicillin');
    });

    it('before it, a member saw the text', () => {
      const [m1] = asSeenByMember(history.whenReplayedAsOf(at(3))).messages;
      expect(textOf(m1)).toBe('Patient allergic to penicillin and latex');
    });
  });

  describe('members', () => {
    const history = given(
      created,
      step(1, 'MemberAdded', alice, { member: member(carol, 'member') }),
      step(2, 'MemberRoleChanged', alice, { memberId: 'carol', from: 'member', to: 'moderator' }),
      step(3, 'MemberRemoved', alice, { memberId: 'carol', role: 'moderator' }),
      step(4, 'MemberLeft', bob, { memberId: 'bob' }),
      step(6, 'MemberAdded', alice, { member: member(carol, 'member') }),
      step(7, 'ConversationRenamed', alice, { title: 'Ward 3' }),
      step(8, 'ConversationArchived', alice, {}),
    );

    it('joins, role changes and leaves, with times and who did them', () => {
      const replay = history.whenReplayedAsOf(at(5));
      expect(replay.members).toEqual([
        {
          id: 'alice',
          kind: 'user',
          role: 'owner',
          isMember: true,
          memberships: [{ joinedAt: minute(0), addedById: 'alice' }],
        },
        {
          id: 'bob',
          kind: 'user',
          role: 'member',
          isMember: false,
          memberships: [
            { joinedAt: minute(0), addedById: 'alice', leftAt: minute(4), leftHow: 'left' },
          ],
        },
        {
          id: 'carol',
          kind: 'user',
          role: 'moderator',
          isMember: false,
          memberships: [
            {
              joinedAt: minute(1),
              addedById: 'alice',
              leftAt: minute(3),
              leftHow: 'removed',
              removedById: 'alice',
            },
          ],
        },
      ]);
      expect(replay.title).toEqual({ status: 'available', text: 'Ward 3 handover' });
      expect(replay.archived).toBe(false);
      expect(wasMemberAt(replay, 'carol')).toBe(false);
      expect(asSeenByMember(replay).members.map((m) => m.id)).toEqual(['alice']);
    });

    it('rejoining opens a new membership; title and archive as of the moment', () => {
      const replay = history.whenReplayedAsOf(at(9));
      const carolNow = replay.members.find((m) => m.id === 'carol')!;
      expect(carolNow.isMember).toBe(true);
      expect(carolNow.role).toBe('member');
      expect(carolNow.memberships).toHaveLength(2);
      expect(replay.title).toEqual({ status: 'available', text: 'Ward 3' });
      expect(replay.archived).toBe(true);
      expect(replay.kind).toBe('group');
      expect(replay.createdAt).toEqual(minute(0));
      expect(replay.createdById).toBe('alice');
    });

    it('agrees with the decider on who is a member with which role', () => {
      const events = [
        created,
        step(1, 'MemberAdded', alice, { member: member(carol, 'member') }),
        step(2, 'MemberRoleChanged', alice, { memberId: 'carol', from: 'member', to: 'moderator' }),
        step(4, 'MemberLeft', bob, { memberId: 'bob' }),
      ];
      const state = foldConversation(events.map((s) => s.event));
      const replay = given(...events).whenReplayedAsOf(LATEST);
      if (!state.exists) throw new Error('the decider saw no conversation');
      expect(replay.members.filter((m) => m.isMember).map((m) => [m.id, m.kind, m.role])).toEqual(
        [...state.members.values()].map((m) => [m.id, m.kind, m.role]),
      );
    });
  });

  describe('threads and reactions', () => {
    it('keeps thread roots and reactions as they stood, per member', () => {
      const replay = given(
        created,
        sent(1, 'm1', 'Rounds at 9?'),
        step(2, 'MessageSent', bob, {
          messageId: 'm2',
          clientMessageId: 'c-m2',
          sequence: 2,
          text: 'Yes',
          threadRootId: 'm1',
          mentions: [],
        }),
        step(3, 'ReactionAdded', bob, { messageId: 'm1', emoji: '👍' }),
        step(3, 'ReactionAdded', alice, { messageId: 'm1', emoji: '👍' }),
        step(4, 'ReactionAdded', alice, { messageId: 'm1', emoji: '✅' }),
        step(5, 'ReactionRemoved', alice, { messageId: 'm1', emoji: '👍' }),
      ).whenReplayedAsOf(at(4));
      expect(replay.messages[1]!.threadRootId).toBe('m1');
      expect(replay.messages[1]!.authorId).toBe('bob');
      expect(replay.messages[0]!.reactions).toEqual([
        { emoji: '✅', memberIds: ['alice'] },
        { emoji: '👍', memberIds: ['alice', 'bob'] },
      ]);
    });
  });

  describe('shredded keys', () => {
    it('a shredded message shows, unavailable, with its author and time, never a guess', () => {
      const replay = given(
        created,
        shredded(sent(1, 'm1', 'CANARY shredded text')),
        sent(2, 'm2', 'still readable', bob),
      ).whenReplayedAsOf(LATEST);
      expect(replay.messages).toHaveLength(2);
      const [m1, m2] = replay.messages;
      expect(m1!.content).toEqual({ status: 'unavailable' });
      expect(m1!.messageId).toBeUndefined();
      expect([m1!.authorId, m1!.sentAt]).toEqual(['alice', minute(1)]);
      expect(textOf(m2)).toBe('still readable');
      expect(json(replay)).not.toContain('CANARY');
      expect(replay.gaps).toEqual([]);
    });

    it('a shredded edit of a named message makes its text unavailable from then on', () => {
      const history = given(
        created,
        sent(1, 'm1', 'original'),
        shredded(edited(3, 'm1', 'CANARY edit', 1)),
      );
      const named = history.whenReplayedAsOf(LATEST, new Map([[2n, 'm1']]));
      expect(texts(named.messages[0])).toEqual(['original', 'unavailable']);
      expect(named.messages[0]!.content).toEqual({ status: 'unavailable' });
      expect(named.gaps).toEqual([]);
      // As of before the edit, the original is the text.
      expect(textOf(history.whenReplayedAsOf(at(2)).messages[0])).toBe('original');

      // Without a read model naming the message, the edit is a gap and the replay says so.
      const unnamed = history.whenReplayedAsOf(LATEST);
      expect(unnamed.gaps).toEqual([
        {
          eventId: 'event-2',
          revision: 2n,
          type: 'MessageEdited',
          recordedAt: minute(3),
          actorId: 'alice',
          reason: 'key_shredded',
        },
      ]);
    });

    it('a shredded creation: the conversation existed, title unavailable, members undetermined', () => {
      const replay = given(
        shredded(created),
        sent(1, 'm1', 'readable later epoch', bob),
      ).whenReplayedAsOf(LATEST);
      expect(replay.existed).toBe(true);
      expect(replay.kind).toBe('group');
      expect(replay.title).toEqual({ status: 'unavailable' });
      expect(replay.members).toEqual([]);
      expect(membershipUndetermined(replay, 'bob')).toBe(true);
      expect(textOf(replay.messages[0])).toBe('readable later epoch');
    });

    it('a readable edit of a message whose own event was shredded unnamed is a gap', () => {
      const replay = given(
        created,
        shredded(sent(1, 'm1', 'x')),
        edited(2, 'm1', 'new text', 1),
      ).whenReplayedAsOf(LATEST);
      expect(replay.gaps.map((g) => [g.type, g.reason])).toEqual([
        ['MessageEdited', 'message_unknown'],
      ]);
      // Named by the read model, the edit lands on it.
      const named = given(
        created,
        shredded(sent(1, 'm1', 'x')),
        edited(2, 'm1', 'new text', 1),
      ).whenReplayedAsOf(LATEST, new Map([[1n, 'm1']]));
      expect(named.messages[0]!.messageId).toBe('m1');
      expect(texts(named.messages[0])).toEqual(['unavailable', 'new text']);
    });
  });

  it('participants: every member up to the moment and every author', () => {
    const replay = given(
      created,
      step(1, 'MemberAdded', alice, { member: member(carol, 'member') }),
      step(2, 'MemberRemoved', alice, { memberId: 'carol', role: 'member' }),
      sent(3, 'm1', 'hello', { id: 'triage-bot', kind: 'agent' }),
    ).whenReplayedAsOf(LATEST);
    expect(participantsOf(replay)).toEqual(['alice', 'bob', 'carol', 'triage-bot']);
  });
});
