import { DeciderSpecification } from '@ledgerline/testing';
import {
  DEFAULT_CONVERSATION_LIMITS,
  type ConversationCommand,
  type ConversationCommandBase,
  type ConversationCommandType,
  type ConversationContext,
  type ConversationLimits,
} from './conversation.commands';
import { conversationDecider } from './conversation.decider';
import {
  ConversationRefused,
  InvalidConversationInput,
  type ConversationInputProblem,
} from './conversation.errors';
import type {
  ConversationActor,
  ConversationEvent,
  ConversationEventBase,
  ConversationEventType,
  Member,
  Participant,
} from './conversation.events';
import {
  CONVERSATION_SNAPSHOT_VERSION,
  deserializeConversationState,
  serializeConversationState,
} from './conversation.snapshot';
import {
  evolveConversation,
  findMember,
  findMessageIdByClientMessageId,
  foldConversation,
  foldOwnedConversation,
  initialConversationState,
  type Conversation,
  type ConversationState,
} from './conversation.state';
import { extractMentions } from './conversation.validation';
import {
  conversationStreamId,
  directConversationId,
  parseConversationStreamId,
} from './stream-ids';

// ---- fixtures ---------------------------------------------------------------------------------

const TENANT = 'clinic-a';
const GROUP = '0190f1a2-0000-7000-8000-000000000001';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const AT = NOW.toISOString();

const alice = { id: 'alice', kind: 'user' } as const; // owner
const bob = { id: 'bob', kind: 'user' } as const; // moderator
const carol = { id: 'carol', kind: 'user' } as const; // member
const bot = { id: 'triage-bot', kind: 'agent' } as const; // member (an agent)
const dave = { id: 'dave', kind: 'user' } as const; // not in the group
const mallory = { id: 'mallory', kind: 'user' } as const; // never a member
const scheduler = { id: 'svc-scheduler', kind: 'service' } as const;

const DIRECT = directConversationId(TENANT, alice.id, dave.id);

/** Ids are `msg-1`, `msg-2`, … in each decision. */
function context(limits: Partial<ConversationLimits> = {}): ConversationContext {
  let n = 0;
  return {
    now: NOW,
    ids: { next: () => `msg-${++n}` },
    limits: { ...DEFAULT_CONVERSATION_LIMITS, ...limits },
  };
}

const spec = DeciderSpecification.for(conversationDecider, () => context());
const specWith = (limits: Partial<ConversationLimits>) =>
  DeciderSpecification.for(conversationDecider, () => context(limits));

type EventOf<T extends ConversationEventType> = Extract<ConversationEvent, { type: T }>;
type CommandOf<T extends ConversationCommandType> = Extract<ConversationCommand, { type: T }>;

function event<T extends ConversationEventType>(
  type: T,
  actor: ConversationActor,
  data: Omit<EventOf<T>['data'], keyof ConversationEventBase>,
  conversationId = GROUP,
): EventOf<T> {
  return {
    type,
    v: 1,
    data: { tenantId: TENANT, conversationId, actor, at: AT, ...data },
  } as EventOf<T>;
}

function command<T extends ConversationCommandType>(
  type: T,
  actor: ConversationActor,
  data: Omit<CommandOf<T>['data'], keyof ConversationCommandBase>,
  conversationId = GROUP,
): CommandOf<T> {
  return { type, data: { tenantId: TENANT, conversationId, actor, ...data } } as CommandOf<T>;
}

const member = (p: { id: string; kind: 'user' | 'agent' }, role: Member['role']): Member => ({
  ...p,
  role,
});

const groupCreated = event('GroupConversationCreated', alice, {
  title: 'Care team',
  members: [
    member(alice, 'owner'),
    member(bob, 'moderator'),
    member(carol, 'member'),
    member(bot, 'member'),
  ],
});

const sent = (
  by: ConversationActor,
  messageId: string,
  sequence: number,
  text: string,
  extra: { threadRootId?: string; mentions?: string[]; clientMessageId?: string } = {},
) =>
  event('MessageSent', by, {
    messageId,
    clientMessageId: extra.clientMessageId ?? `client-${messageId}`,
    sequence,
    text,
    ...(extra.threadRootId === undefined ? {} : { threadRootId: extra.threadRootId }),
    mentions: extra.mentions ?? [],
  });

const m1 = sent(carol, 'm1', 1, 'Blood pressure is 150/95 this morning');
const m2 = sent(alice, 'm2', 2, 'Thanks, please repeat in an hour');
const reply = sent(bob, 'm3', 3, 'Will do', { threadRootId: 'm1' });
const archived = event('ConversationArchived', alice, {});
const redactedM1 = event('MessageRedacted', bob, {
  messageId: 'm1',
  authorId: carol.id,
  reason: 'wrong patient',
});

const group = [groupCreated];
const chat = [groupCreated, m1, m2];

const directCreated = event(
  'DirectConversationCreated',
  alice,
  { members: [member(alice, 'member'), member(dave, 'member')] },
  DIRECT,
);

/** Asserts an `InvalidConversationInput` on `field` with `problem`. */
const invalid =
  (field: string, problem: ConversationInputProblem) =>
  (error: Error): void => {
    expect(error).toBeInstanceOf(InvalidConversationInput);
    expect((error as InvalidConversationInput).field).toBe(field);
    expect((error as InvalidConversationInput).problem).toBe(problem);
  };

// ---- conversations ----------------------------------------------------------------------------

describe('CreateGroupConversation', () => {
  const create = (
    actor: ConversationActor,
    members: Member[],
    title = 'Care team',
    conversationId = GROUP,
  ) => command('CreateGroupConversation', actor, { title, members }, conversationId);

  it('makes the creator an owner and adds the listed members', () => {
    spec
      .given([])
      .when(
        create(alice, [member(bob, 'moderator'), member(carol, 'member'), member(bot, 'member')]),
      )
      .then([groupCreated]);
  });

  it('keeps the creator an owner whatever the list says about them', () => {
    spec
      .given([])
      .when(create(alice, [member(alice, 'member'), member(carol, 'member')]))
      .then([
        event('GroupConversationCreated', alice, {
          title: 'Care team',
          members: [member(alice, 'owner'), member(carol, 'member')],
        }),
      ]);
  });

  it('lets an agent create a group it owns', () => {
    spec
      .given([])
      .when(create(bot, [member(carol, 'member')]))
      .then([
        event('GroupConversationCreated', bot, {
          title: 'Care team',
          members: [member(bot, 'owner'), member(carol, 'member')],
        }),
      ]);
  });

  it('lets a service create a group for others, without joining it', () => {
    spec
      .given([])
      .when(create(scheduler, [member(alice, 'owner'), member(carol, 'member')]))
      .then([
        event('GroupConversationCreated', scheduler, {
          title: 'Care team',
          members: [member(alice, 'owner'), member(carol, 'member')],
        }),
      ]);
  });

  it('refuses a service-created group without an owner', () => {
    spec
      .given([])
      .when(create(scheduler, [member(carol, 'member')]))
      .thenThrows(InvalidConversationInput, invalid('members', 'no_owner'));
  });

  it('refuses an id that already holds a conversation', () => {
    spec.given(group).when(create(alice, [])).thenThrows('conversation_exists');
  });

  it('refuses invalid titles', () => {
    spec
      .given([])
      .when(create(alice, [], '   '))
      .thenThrows(undefined, invalid('title', 'empty'));
    spec
      .given([])
      .when(create(alice, [], 'Care\nteam'))
      .thenThrows(undefined, invalid('title', 'control_character'));
    specWith({ maxTitleChars: 4 })
      .given([])
      .when(create(alice, [], 'Care team'))
      .thenThrows(undefined, invalid('title', 'too_long'));
  });

  it('refuses repeated, malformed and too many members', () => {
    spec
      .given([])
      .when(create(alice, [member(carol, 'member'), member(carol, 'moderator')]))
      .thenThrows(undefined, invalid('members[1].id', 'duplicate'));
    spec
      .given([])
      .when(create(alice, [{ id: 'has space', kind: 'user', role: 'member' }]))
      .thenThrows(undefined, invalid('members[0].id', 'invalid_format'));
    specWith({ maxMembers: 2 })
      .given([])
      .when(create(alice, [member(bob, 'member'), member(carol, 'member')]))
      .thenThrows(undefined, invalid('members', 'too_many'));
  });

  it('refuses a conversation id that cannot name a stream', () => {
    spec
      .given([])
      .when(create(alice, [], 'Care team', 'no:colons'))
      .thenThrows(undefined, invalid('conversationId', 'invalid_format'));
  });
});

describe('CreateDirectConversation', () => {
  const create = (actor: ConversationActor, conversationId = DIRECT) =>
    command('CreateDirectConversation', actor, { participants: [alice, dave] }, conversationId);

  it('creates the one conversation of the pair, both as plain members', () => {
    spec.given([]).when(create(alice)).then([directCreated]);
  });

  it('decides nothing the second time, whoever of the pair asks', () => {
    spec.given([directCreated]).when(create(alice)).thenNothingHappened();
    spec.given([directCreated]).when(create(dave)).thenNothingHappened();
  });

  it('lets a service open it for the pair', () => {
    spec
      .given([])
      .when(create(scheduler))
      .then([{ ...directCreated, data: { ...directCreated.data, actor: scheduler } }]);
  });

  it('refuses someone outside the pair', () => {
    spec.given([]).when(create(mallory)).thenThrows('not_allowed');
  });

  it('refuses an id that is not the pair’s', () => {
    spec
      .given([])
      .when(create(alice, GROUP))
      .thenThrows(undefined, invalid('conversationId', 'mismatch'));
  });

  it('refuses a pair of one', () => {
    spec
      .given([])
      .when(command('CreateDirectConversation', alice, { participants: [alice, alice] }, DIRECT))
      .thenThrows(undefined, invalid('participants', 'duplicate'));
  });

  it('refuses when a group already holds the id', () => {
    const groupThere = { ...groupCreated, data: { ...groupCreated.data, conversationId: DIRECT } };
    spec.given([groupThere]).when(create(alice)).thenThrows('conversation_exists');
  });
});

describe('stream and conversation ids', () => {
  it('names one stream per conversation', () => {
    const id = conversationStreamId(TENANT, GROUP);
    expect(id).toBe(`conversation:${TENANT}:${GROUP}`);
    expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.:@=+/-]{0,199}$/);
    expect(parseConversationStreamId(id)).toEqual({ tenantId: TENANT, conversationId: GROUP });
    expect(parseConversationStreamId('presence:clinic-a:x')).toBeUndefined();
    expect(() => conversationStreamId('bad tenant', GROUP)).toThrow(InvalidConversationInput);
    expect(() => conversationStreamId(TENANT, 'a'.repeat(101))).toThrow(InvalidConversationInput);
  });

  it('derives the direct conversation id from the tenant and the unordered pair', () => {
    expect(DIRECT).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(directConversationId(TENANT, dave.id, alice.id)).toBe(DIRECT);
    expect(directConversationId('clinic-b', alice.id, dave.id)).not.toBe(DIRECT);
    expect(directConversationId(TENANT, alice.id, carol.id)).not.toBe(DIRECT);
    expect(conversationStreamId(TENANT, DIRECT)).toBe(`conversation:${TENANT}:${DIRECT}`);
    expect(() => directConversationId(TENANT, alice.id, alice.id)).toThrow(
      InvalidConversationInput,
    );
  });
});

// ---- members ----------------------------------------------------------------------------------

describe('AddMember', () => {
  const add = (
    actor: ConversationActor,
    who: Participant = dave,
    role: Member['role'] = 'member',
  ) => command('AddMember', actor, { member: who, role });

  it('lets a moderator add a member', () => {
    spec
      .given(group)
      .when(add(bob))
      .then([event('MemberAdded', bob, { member: member(dave, 'member') })]);
  });

  it('lets an owner add a moderator, and a service add an owner', () => {
    spec
      .given(group)
      .when(add(alice, dave, 'moderator'))
      .then([event('MemberAdded', alice, { member: member(dave, 'moderator') })]);
    spec
      .given(group)
      .when(add(scheduler, dave, 'owner'))
      .then([event('MemberAdded', scheduler, { member: member(dave, 'owner') })]);
  });

  it('adds agents as members', () => {
    const scribe = { id: 'scribe-bot', kind: 'agent' } as const;
    spec
      .given(group)
      .when(add(alice, scribe))
      .then([event('MemberAdded', alice, { member: member(scribe, 'member') })]);
  });

  it('refuses a plain member, and a moderator adding a moderator', () => {
    spec.given(group).when(add(carol)).thenThrows('not_allowed');
    spec
      .given(group)
      .when(add(bob, dave, 'moderator'))
      .thenThrows('not_allowed');
  });

  it('refuses outsiders, unknown conversations and archived ones', () => {
    spec.given(group).when(add(mallory)).thenThrows('not_a_member');
    spec.given([]).when(add(alice)).thenThrows('conversation_not_found');
    spec
      .given([...group, archived])
      .when(add(alice))
      .thenThrows('archived');
  });

  it('refuses someone already in', () => {
    spec.given(group).when(add(alice, carol)).thenThrows('already_member');
  });

  it('refuses beyond the member limit', () => {
    specWith({ maxMembers: 4 }).given(group).when(add(alice)).thenThrows('member_limit_reached');
  });

  it('refuses any change to a direct conversation’s members', () => {
    spec
      .given([directCreated])
      .when(command('AddMember', alice, { member: carol, role: 'member' }, DIRECT))
      .thenThrows('direct_conversation_fixed_members');
  });

  it('refuses a malformed member id', () => {
    spec
      .given(group)
      .when(add(alice, { id: '<@x>', kind: 'user' }))
      .thenThrows(undefined, invalid('member.id', 'invalid_format'));
  });

  it('refuses a command for a conversation other than the state’s', () => {
    spec
      .given(group)
      .when(command('AddMember', alice, { member: dave, role: 'member' }, 'another-one'))
      .thenThrows(undefined, invalid('conversationId', 'mismatch'));
  });
});

describe('RemoveMember', () => {
  const remove = (actor: ConversationActor, memberId: string) =>
    command('RemoveMember', actor, { memberId });

  it('lets a moderator remove a member', () => {
    spec
      .given(group)
      .when(remove(bob, carol.id))
      .then([event('MemberRemoved', bob, { memberId: carol.id, role: 'member' })]);
  });

  it('lets an owner remove a moderator, even in an archived conversation', () => {
    spec
      .given([...group, archived])
      .when(remove(alice, bob.id))
      .then([event('MemberRemoved', alice, { memberId: bob.id, role: 'moderator' })]);
  });

  it('lets a service remove an owner while another owner remains', () => {
    const second = event('MemberAdded', alice, { member: member(dave, 'owner') });
    spec
      .given([...group, second])
      .when(remove(scheduler, alice.id))
      .then([event('MemberRemoved', scheduler, { memberId: alice.id, role: 'owner' })]);
  });

  it('refuses removing the last owner', () => {
    spec.given(group).when(remove(scheduler, alice.id)).thenThrows('last_owner_cannot_leave');
  });

  it('refuses a plain member, and a moderator removing a moderator or owner', () => {
    spec.given(group).when(remove(carol, bot.id)).thenThrows('not_allowed');
    spec.given(group).when(remove(bob, alice.id)).thenThrows('not_allowed');
  });

  it('refuses outsiders and unknown members', () => {
    spec.given(group).when(remove(mallory, carol.id)).thenThrows('not_a_member');
    spec.given(group).when(remove(alice, dave.id)).thenThrows('member_not_found');
  });

  it('refuses in a direct conversation', () => {
    spec
      .given([directCreated])
      .when(command('RemoveMember', alice, { memberId: dave.id }, DIRECT))
      .thenThrows('direct_conversation_fixed_members');
  });
});

describe('ChangeMemberRole', () => {
  const change = (actor: ConversationActor, memberId: string, role: Member['role']) =>
    command('ChangeMemberRole', actor, { memberId, role });

  it('lets an owner promote a member', () => {
    spec
      .given(group)
      .when(change(alice, carol.id, 'moderator'))
      .then([
        event('MemberRoleChanged', alice, { memberId: carol.id, from: 'member', to: 'moderator' }),
      ]);
  });

  it('lets an owner step down once another owner exists', () => {
    const promoted = event('MemberRoleChanged', alice, {
      memberId: bob.id,
      from: 'moderator',
      to: 'owner',
    });
    spec
      .given([...group, promoted])
      .when(change(alice, alice.id, 'member'))
      .then([
        event('MemberRoleChanged', alice, { memberId: alice.id, from: 'owner', to: 'member' }),
      ]);
  });

  it('decides nothing when the role is already that', () => {
    spec
      .given(group)
      .when(change(alice, bob.id, 'moderator'))
      .thenNothingHappened();
  });

  it('refuses moderators and members', () => {
    spec
      .given(group)
      .when(change(bob, carol.id, 'moderator'))
      .thenThrows('not_allowed');
    spec
      .given(group)
      .when(change(carol, carol.id, 'owner'))
      .thenThrows('not_allowed');
  });

  it('refuses demoting the last owner', () => {
    spec
      .given(group)
      .when(change(alice, alice.id, 'moderator'))
      .thenThrows('last_owner_cannot_leave');
  });

  it('refuses unknown members, archived and direct conversations', () => {
    spec
      .given(group)
      .when(change(alice, dave.id, 'member'))
      .thenThrows('member_not_found');
    spec
      .given([...group, archived])
      .when(change(alice, carol.id, 'moderator'))
      .thenThrows('archived');
    spec
      .given([directCreated])
      .when(command('ChangeMemberRole', alice, { memberId: dave.id, role: 'owner' }, DIRECT))
      .thenThrows('direct_conversation_fixed_members');
  });
});

describe('LeaveConversation', () => {
  const leave = (actor: ConversationActor, conversationId = GROUP) =>
    command('LeaveConversation', actor, {}, conversationId);

  it('lets a member leave, even an archived conversation', () => {
    spec
      .given(group)
      .when(leave(carol))
      .then([event('MemberLeft', carol, { memberId: carol.id })]);
    spec
      .given([...group, archived])
      .when(leave(bot))
      .then([event('MemberLeft', bot, { memberId: bot.id })]);
  });

  it('refuses the last owner', () => {
    spec.given(group).when(leave(alice)).thenThrows('last_owner_cannot_leave');
  });

  it('refuses non-members, services included', () => {
    spec.given(group).when(leave(mallory)).thenThrows('not_a_member');
    spec.given(group).when(leave(scheduler)).thenThrows('not_a_member');
  });

  it('refuses leaving a direct conversation', () => {
    spec
      .given([directCreated])
      .when(leave(dave, DIRECT))
      .thenThrows('direct_conversation_fixed_members');
  });
});

describe('RenameConversation', () => {
  const rename = (actor: ConversationActor, title = 'Cardiology', conversationId = GROUP) =>
    command('RenameConversation', actor, { title }, conversationId);

  it('lets a moderator, an owner or a service rename', () => {
    for (const actor of [bob, alice, scheduler]) {
      spec
        .given(group)
        .when(rename(actor))
        .then([event('ConversationRenamed', actor, { title: 'Cardiology' })]);
    }
  });

  it('refuses members, archived conversations and direct ones', () => {
    spec.given(group).when(rename(carol)).thenThrows('not_allowed');
    spec
      .given([...group, archived])
      .when(rename(alice))
      .thenThrows('archived');
    spec
      .given([directCreated])
      .when(rename(alice, 'Us', DIRECT))
      .thenThrows('not_allowed');
  });

  it('refuses an invalid title', () => {
    spec.given(group).when(rename(alice, '')).thenThrows(undefined, invalid('title', 'empty'));
  });
});

describe('ArchiveConversation and UnarchiveConversation', () => {
  const archive = (actor: ConversationActor, conversationId = GROUP) =>
    command('ArchiveConversation', actor, {}, conversationId);
  const unarchive = (actor: ConversationActor, conversationId = GROUP) =>
    command('UnarchiveConversation', actor, {}, conversationId);

  it('lets an owner or a service archive and unarchive a group', () => {
    spec.given(group).when(archive(alice)).then([archived]);
    spec
      .given(group)
      .when(archive(scheduler))
      .then([event('ConversationArchived', scheduler, {})]);
    spec
      .given([...group, archived])
      .when(unarchive(alice))
      .then([event('ConversationUnarchived', alice, {})]);
  });

  it('decides nothing when already in that state', () => {
    spec
      .given([...group, archived])
      .when(archive(alice))
      .thenNothingHappened();
    spec.given(group).when(unarchive(alice)).thenNothingHappened();
  });

  it('refuses moderators, members and outsiders in a group', () => {
    spec.given(group).when(archive(bob)).thenThrows('not_allowed');
    spec
      .given([...group, archived])
      .when(unarchive(carol))
      .thenThrows('not_allowed');
    spec.given(group).when(archive(mallory)).thenThrows('not_a_member');
  });

  it('lets either member of a direct conversation archive it', () => {
    spec
      .given([directCreated])
      .when(archive(dave, DIRECT))
      .then([event('ConversationArchived', dave, {}, DIRECT)]);
  });
});

// ---- messages ---------------------------------------------------------------------------------

describe('SendMessage', () => {
  const send = (
    actor: ConversationActor,
    text: string,
    extra: { clientMessageId?: string; threadRootId?: string } = {},
  ) =>
    command('SendMessage', actor, {
      clientMessageId: extra.clientMessageId ?? 'client-new',
      text,
      ...(extra.threadRootId === undefined ? {} : { threadRootId: extra.threadRootId }),
    });

  it('sends the next message of the conversation', () => {
    spec
      .given(chat)
      .when(send(carol, 'Repeated: 140/90'))
      .then([sent(carol, 'msg-1', 3, 'Repeated: 140/90', { clientMessageId: 'client-new' })]);
  });

  it('lets an agent take part like a user', () => {
    spec
      .given(group)
      .when(send(bot, 'Triage summary ready'))
      .then([sent(bot, 'msg-1', 1, 'Triage summary ready', { clientMessageId: 'client-new' })]);
  });

  it('records the members mentioned', () => {
    spec
      .given(chat)
      .when(send(carol, '<@alice> and <@triage-bot>, see above <@alice>'))
      .then([
        sent(carol, 'msg-1', 3, '<@alice> and <@triage-bot>, see above <@alice>', {
          clientMessageId: 'client-new',
          mentions: [alice.id, bot.id],
        }),
      ]);
  });

  it('replies in the thread of a top-level message', () => {
    spec
      .given(chat)
      .when(send(bob, 'Will do', { threadRootId: 'm1' }))
      .then([
        sent(bob, 'msg-1', 3, 'Will do', { threadRootId: 'm1', clientMessageId: 'client-new' }),
      ]);
  });

  it('keeps a thread open under a redacted root', () => {
    spec
      .given([...chat, redactedM1])
      .when(send(carol, 'Corrected', { threadRootId: 'm1' }))
      .then([
        sent(carol, 'msg-1', 3, 'Corrected', { threadRootId: 'm1', clientMessageId: 'client-new' }),
      ]);
  });

  // libs/files
  it('carries the ids of attached files, lower-cased, in order; refuses malformed, repeated or too many', () => {
    const files = ['0193A000-0000-7000-8000-0000000000F1', '0193a000-0000-7000-8000-0000000000f2'];
    spec
      .given(chat)
      .when(
        command('SendMessage', carol, {
          clientMessageId: 'c-f',
          text: 'Scans',
          attachmentIds: files,
        }),
      )
      .then(({ events }) => {
        expect(events[0]).toMatchObject({
          data: { attachmentIds: files.map((f) => f.toLowerCase()) },
        });
      });
    const bad = (attachmentIds: string[]) =>
      command('SendMessage', carol, { clientMessageId: 'c-x', text: 'x', attachmentIds });
    spec
      .given(chat)
      .when(bad(['not-a-uuid']))
      .thenThrows(InvalidConversationInput);
    spec
      .given(chat)
      .when(bad([files[0]!, files[0]!.toLowerCase()]))
      .thenThrows(InvalidConversationInput);
    spec
      .given(chat)
      .when(
        bad(
          Array.from(
            { length: 11 },
            (_, i) => `0193a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
          ),
        ),
      )
      .thenThrows(InvalidConversationInput);
  });

  it('never duplicates a retried send: nothing new, and the original id is found', () => {
    const outcome = spec
      .given(chat)
      .when(send(carol, 'Blood pressure is 150/95 this morning', { clientMessageId: 'client-m1' }))
      .thenNothingHappened();
    expect(findMessageIdByClientMessageId(outcome.state, carol.id, 'client-m1')).toBe('m1');
  });

  it('answers a retry with the original even once the conversation is archived', () => {
    spec
      .given([...chat, archived])
      .when(send(carol, 'Blood pressure is 150/95 this morning', { clientMessageId: 'client-m1' }))
      .thenNothingHappened();
  });

  // Issue 10, item 15: the new text was dropped and the send answered `duplicate: true`.
  it('refuses a client message id reused for other content: idempotency_key_reused, nothing decided', () => {
    spec
      .given(chat)
      .when(send(carol, 'Blood pressure is 160/100 this morning', { clientMessageId: 'client-m1' }))
      .thenThrows('idempotency_key_reused', (error) => {
        expect((error as ConversationRefused).messageId).toBe('m1');
        expect(error.message).not.toContain('160/100');
      });
    spec
      .given([...chat, reply])
      .when(send(bob, 'Will do', { clientMessageId: 'client-m3', threadRootId: 'm2' }))
      .thenThrows('idempotency_key_reused');
    // The same content, thread included, is a retry.
    spec
      .given([...chat, reply])
      .when(send(bob, 'Will do', { clientMessageId: 'client-m3', threadRootId: 'm1' }))
      .thenNothingHappened();
  });

  it('keeps client message ids per sender', () => {
    spec
      .given(chat)
      .when(send(bob, 'Mine', { clientMessageId: 'client-m1' }))
      .then([sent(bob, 'msg-1', 3, 'Mine', { clientMessageId: 'client-m1' })]);
  });

  it('refuses non-members, services, unknown and archived conversations', () => {
    spec.given(chat).when(send(mallory, 'hi')).thenThrows('not_a_member');
    spec.given(chat).when(send(scheduler, 'hi')).thenThrows('not_a_member');
    spec.given([]).when(send(carol, 'hi')).thenThrows('conversation_not_found');
    spec
      .given([...chat, archived])
      .when(send(carol, 'hi'))
      .thenThrows('archived');
  });

  it('refuses a thread root that is missing or is itself a reply', () => {
    spec
      .given(chat)
      .when(send(carol, 'hi', { threadRootId: 'nope' }))
      .thenThrows('invalid_thread');
    spec
      .given([...chat, reply])
      .when(send(carol, 'hi', { threadRootId: 'm3' }))
      .thenThrows('invalid_thread');
  });

  it('refuses mentioning someone who is not a member', () => {
    spec
      .given(chat)
      .when(send(carol, 'ask <@mallory>'))
      .thenThrows(ConversationRefused, (e) => {
        expect((e as ConversationRefused).reason).toBe('mention_not_member');
        expect((e as ConversationRefused).userId).toBe(mallory.id);
      });
    specWith({ maxMentions: 1 })
      .given(chat)
      .when(send(carol, '<@alice> <@bob>'))
      .thenThrows(undefined, invalid('text', 'too_many'));
  });

  it('refuses empty, too long, control-character and malformed text', () => {
    spec.given(chat).when(send(carol, ' \n\t ')).thenThrows(undefined, invalid('text', 'empty'));
    spec
      .given(chat)
      .when(send(carol, 'bell\u0007'))
      .thenThrows(undefined, invalid('text', 'control_character'));
    spec
      .given(chat)
      .when(send(carol, 'line\r\nbreak'))
      .thenThrows(undefined, invalid('text', 'control_character'));
    spec
      .given(chat)
      .when(send(carol, 'c1\u0085'))
      .thenThrows(undefined, invalid('text', 'control_character'));
    spec
      .given(chat)
      .when(send(carol, 'half \ud83d'))
      .thenThrows(undefined, invalid('text', 'malformed_unicode'));
    spec
      .given(chat)
      .when(send(carol, '\ude00 half'))
      .thenThrows(undefined, invalid('text', 'malformed_unicode'));
    specWith({ maxMessageChars: 5 })
      .given(chat)
      .when(send(carol, 'hello!'))
      .thenThrows(undefined, invalid('text', 'too_long'));
  });

  it('keeps line breaks and tabs, and counts length in code points', () => {
    spec
      .given(chat)
      .when(send(carol, 'a\n\tb'))
      .then([sent(carol, 'msg-1', 3, 'a\n\tb', { clientMessageId: 'client-new' })]);
    specWith({ maxMessageChars: 5 })
      .given(chat)
      .when(send(carol, '😀😀😀😀😀'))
      .then((outcome) => expect(outcome.events).toHaveLength(1));
  });

  it('refuses a malformed client message id', () => {
    spec
      .given(chat)
      .when(send(carol, 'hi', { clientMessageId: 'with space' }))
      .thenThrows(undefined, invalid('clientMessageId', 'invalid_format'));
  });
});

describe('EditMessage', () => {
  const edit = (actor: ConversationActor, messageId: string, text: string) =>
    command('EditMessage', actor, { messageId, text });

  it('records each edit with its new text and number', () => {
    const firstEdit = event('MessageEdited', carol, {
      messageId: 'm1',
      text: 'BP 150/95',
      mentions: [],
      editNumber: 1,
    });
    spec
      .given(chat)
      .when(edit(carol, 'm1', 'BP 150/95'))
      .then([firstEdit]);
    spec
      .given([...chat, firstEdit])
      .when(edit(carol, 'm1', 'BP 150/95, <@alice>'))
      .then([
        event('MessageEdited', carol, {
          messageId: 'm1',
          text: 'BP 150/95, <@alice>',
          mentions: [alice.id],
          editNumber: 2,
        }),
      ]);
  });

  it('refuses anyone but the author, moderators and owners included', () => {
    spec
      .given(chat)
      .when(edit(bob, 'm1', 'x'))
      .thenThrows('not_author');
    spec
      .given(chat)
      .when(edit(alice, 'm1', 'x'))
      .thenThrows('not_author');
  });

  it('refuses redacted and unknown messages', () => {
    spec
      .given([...chat, redactedM1])
      .when(edit(carol, 'm1', 'x'))
      .thenThrows('redacted');
    spec
      .given(chat)
      .when(edit(carol, 'nope', 'x'))
      .thenThrows('message_not_found');
  });

  it('refuses authors who left, archived conversations and invalid text', () => {
    const left = event('MemberLeft', carol, { memberId: carol.id });
    spec
      .given([...chat, left])
      .when(edit(carol, 'm1', 'x'))
      .thenThrows('not_a_member');
    spec
      .given([...chat, archived])
      .when(edit(carol, 'm1', 'x'))
      .thenThrows('archived');
    spec
      .given(chat)
      .when(edit(carol, 'm1', ''))
      .thenThrows(undefined, invalid('text', 'empty'));
    spec
      .given(chat)
      .when(edit(carol, 'm1', 'hey <@dave>'))
      .thenThrows('mention_not_member');
  });
});

describe('RedactMessage', () => {
  const redact = (actor: ConversationActor, messageId: string, reason?: string) =>
    command('RedactMessage', actor, { messageId, ...(reason === undefined ? {} : { reason }) });

  it('lets authors redact their own message without a reason', () => {
    spec
      .given(chat)
      .when(redact(carol, 'm1'))
      .then([event('MessageRedacted', carol, { messageId: 'm1', authorId: carol.id })]);
  });

  it('lets moderators, owners and services redact others’ messages, recording who and why', () => {
    spec
      .given(chat)
      .when(redact(bob, 'm1', 'wrong patient'))
      .then([redactedM1]);
    spec
      .given(chat)
      .when(redact(scheduler, 'm2', 'retention'))
      .then([
        event('MessageRedacted', scheduler, {
          messageId: 'm2',
          authorId: alice.id,
          reason: 'retention',
        }),
      ]);
  });

  it('still redacts in an archived conversation', () => {
    spec
      .given([...chat, archived])
      .when(redact(bob, 'm1', 'wrong patient'))
      .then([redactedM1]);
  });

  it('decides nothing for a message already redacted', () => {
    spec
      .given([...chat, redactedM1])
      .when(redact(alice, 'm1', 'again'))
      .thenNothingHappened();
  });

  it('refuses members redacting others’ messages, in groups and direct conversations', () => {
    spec
      .given(chat)
      .when(redact(carol, 'm2', 'no'))
      .thenThrows('not_allowed');
    const directMessage = {
      ...sent(alice, 'd1', 1, 'hello'),
      data: { ...sent(alice, 'd1', 1, 'hello').data, conversationId: DIRECT },
    };
    spec
      .given([directCreated, directMessage])
      .when(command('RedactMessage', dave, { messageId: 'd1', reason: 'no' }, DIRECT))
      .thenThrows('not_allowed');
  });

  it('requires a valid reason to redact someone else’s message', () => {
    spec.given(chat).when(redact(bob, 'm1')).thenThrows(undefined, invalid('reason', 'required'));
    spec
      .given(chat)
      .when(redact(bob, 'm1', 'bad\u0000'))
      .thenThrows(undefined, invalid('reason', 'control_character'));
  });

  it('refuses unknown messages and non-members', () => {
    spec
      .given(chat)
      .when(redact(bob, 'nope', 'x'))
      .thenThrows('message_not_found');
    spec
      .given(chat)
      .when(redact(mallory, 'm1', 'x'))
      .thenThrows('not_a_member');
  });
});

describe('AddReaction and RemoveReaction', () => {
  const react = (actor: ConversationActor, emoji: string, messageId = 'm1') =>
    command('AddReaction', actor, { messageId, emoji });
  const unreact = (actor: ConversationActor, emoji: string, messageId = 'm1') =>
    command('RemoveReaction', actor, { messageId, emoji });
  const thumbs = event('ReactionAdded', alice, { messageId: 'm1', emoji: '👍' });

  it('adds an emoji once per member and message', () => {
    spec.given(chat).when(react(alice, '👍')).then([thumbs]);
    spec
      .given([...chat, thumbs])
      .when(react(alice, '👍'))
      .thenNothingHappened();
    spec
      .given([...chat, thumbs])
      .when(react(bob, '👍'))
      .then([event('ReactionAdded', bob, { messageId: 'm1', emoji: '👍' })]);
    spec
      .given([...chat, thumbs])
      .when(react(alice, ':white_check_mark:'))
      .then([event('ReactionAdded', alice, { messageId: 'm1', emoji: ':white_check_mark:' })]);
  });

  it('accepts emoji sequences', () => {
    spec
      .given(chat)
      .when(react(bot, '👩🏽‍⚕️'))
      .then([event('ReactionAdded', bot, { messageId: 'm1', emoji: '👩🏽‍⚕️' })]);
  });

  it('removes an emoji the member put, and nothing else', () => {
    spec
      .given([...chat, thumbs])
      .when(unreact(alice, '👍'))
      .then([event('ReactionRemoved', alice, { messageId: 'm1', emoji: '👍' })]);
    spec
      .given([...chat, thumbs])
      .when(unreact(bob, '👍'))
      .thenNothingHappened();
  });

  it('refuses redacted, unknown messages, non-members and archived conversations', () => {
    spec
      .given([...chat, redactedM1])
      .when(react(alice, '👍'))
      .thenThrows('redacted');
    spec
      .given([...chat, thumbs, redactedM1])
      .when(unreact(alice, '👍'))
      .thenThrows('redacted');
    spec
      .given(chat)
      .when(react(alice, '👍', 'nope'))
      .thenThrows('message_not_found');
    spec.given(chat).when(react(mallory, '👍')).thenThrows('not_a_member');
    spec.given(chat).when(unreact(scheduler, '👍')).thenThrows('not_a_member');
    spec
      .given([...chat, archived])
      .when(react(alice, '👍'))
      .thenThrows('archived');
  });

  it('refuses more emoji per member than the limit', () => {
    specWith({ maxReactionsPerMember: 1 })
      .given([...chat, thumbs])
      .when(react(alice, '❤️'))
      .thenThrows('reaction_limit_reached');
  });

  it('refuses emoji that are empty, long, spaced, control or malformed', () => {
    spec.given(chat).when(react(alice, '')).thenThrows(undefined, invalid('emoji', 'empty'));
    spec
      .given(chat)
      .when(react(alice, '👍 👍'))
      .thenThrows(undefined, invalid('emoji', 'whitespace'));
    spec
      .given(chat)
      .when(react(alice, '👍\u0000'))
      .thenThrows(undefined, invalid('emoji', 'control_character'));
    spec
      .given(chat)
      .when(react(alice, '\ud83d'))
      .thenThrows(undefined, invalid('emoji', 'malformed_unicode'));
    spec
      .given(chat)
      .when(react(alice, 'x'.repeat(33)))
      .thenThrows(undefined, invalid('emoji', 'too_long'));
  });
});

// ---- receipts ---------------------------------------------------------------------------------

describe('MarkDelivered', () => {
  const delivered = (actor: ConversationActor, deviceId: string, upToMessageId: string) =>
    command('MarkDelivered', actor, { deviceId, upToMessageId });
  const phoneHasM2 = event('MessagesDelivered', carol, {
    deviceId: 'phone',
    upToMessageId: 'm2',
    upToSequence: 2,
  });

  it('records delivery per device, forwards only', () => {
    spec
      .given(chat)
      .when(delivered(carol, 'phone', 'm2'))
      .then([phoneHasM2]);
    spec
      .given([...chat, phoneHasM2])
      .when(delivered(carol, 'phone', 'm1'))
      .thenNothingHappened();
    spec
      .given([...chat, phoneHasM2])
      .when(delivered(carol, 'phone', 'm2'))
      .thenNothingHappened();
    spec
      .given([...chat, phoneHasM2])
      .when(delivered(carol, 'laptop', 'm1'))
      .then([
        event('MessagesDelivered', carol, {
          deviceId: 'laptop',
          upToMessageId: 'm1',
          upToSequence: 1,
        }),
      ]);
  });

  it('still records delivery in an archived conversation', () => {
    spec
      .given([...chat, archived])
      .when(delivered(carol, 'phone', 'm2'))
      .then([phoneHasM2]);
  });

  it('refuses unknown messages, non-members and malformed device ids', () => {
    spec
      .given(chat)
      .when(delivered(carol, 'phone', 'nope'))
      .thenThrows('message_not_found');
    spec
      .given(chat)
      .when(delivered(mallory, 'phone', 'm1'))
      .thenThrows('not_a_member');
    spec
      .given(chat)
      .when(delivered(carol, '', 'm1'))
      .thenThrows(undefined, invalid('deviceId', 'invalid_format'));
  });
});

describe('MarkRead', () => {
  const read = (actor: ConversationActor, upToMessageId: string) =>
    command('MarkRead', actor, { upToMessageId });
  const readM1 = event('MessagesRead', alice, { upToMessageId: 'm1', upToSequence: 1 });

  it('moves the read marker forwards and never back', () => {
    spec.given(chat).when(read(alice, 'm1')).then([readM1]);
    spec
      .given([...chat, readM1])
      .when(read(alice, 'm2'))
      .then([event('MessagesRead', alice, { upToMessageId: 'm2', upToSequence: 2 })]);
    const readM2 = event('MessagesRead', alice, { upToMessageId: 'm2', upToSequence: 2 });
    spec
      .given([...chat, readM2])
      .when(read(alice, 'm1'))
      .thenNothingHappened();
    spec
      .given([...chat, readM1])
      .when(read(alice, 'm1'))
      .thenNothingHappened();
  });

  it('keeps one marker per member', () => {
    spec
      .given([...chat, readM1])
      .when(read(bob, 'm1'))
      .then([event('MessagesRead', bob, { upToMessageId: 'm1', upToSequence: 1 })]);
  });

  it('refuses unknown messages and non-members', () => {
    spec.given(chat).when(read(alice, 'nope')).thenThrows('message_not_found');
    spec.given(chat).when(read(scheduler, 'm1')).thenThrows('not_a_member');
  });
});

// ---- state ------------------------------------------------------------------------------------

/** A stream touching every kind of state: members, thread, edits, reactions, receipts. */
const history: ConversationEvent[] = [
  groupCreated,
  event('MemberAdded', bob, { member: member(dave, 'member') }),
  event('MemberRoleChanged', alice, { memberId: carol.id, from: 'member', to: 'moderator' }),
  m1,
  m2,
  reply,
  event('MessageEdited', alice, { messageId: 'm2', text: 'edited', mentions: [], editNumber: 1 }),
  event('ReactionAdded', carol, { messageId: 'm2', emoji: '👍' }),
  event('ReactionAdded', dave, { messageId: 'm2', emoji: '🙏' }),
  event('ReactionAdded', dave, { messageId: 'm1', emoji: '👀' }),
  event('MessageRedacted', carol, { messageId: 'm1', authorId: carol.id }),
  event('MessagesDelivered', dave, { deviceId: 'phone', upToMessageId: 'm3', upToSequence: 3 }),
  event('MessagesRead', dave, { upToMessageId: 'm2', upToSequence: 2 }),
  event('MemberLeft', bot, { memberId: bot.id }),
  event('ConversationRenamed', alice, { title: 'Cardiology' }),
  archived,
];

const rebuild = (events: readonly ConversationEvent[]): ConversationState =>
  events.reduce(evolveConversation, initialConversationState());

describe('conversation state', () => {
  it('keeps what decisions need, and no text', () => {
    const state = rebuild(history) as Conversation;
    expect(state.archived).toBe(true);
    expect([...state.members.keys()].sort()).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(findMember(state, carol.id)?.role).toBe('moderator');
    expect(state.lastSequence).toBe(3);
    expect(state.messages.get('m1')).toEqual({
      sequence: 1,
      authorId: carol.id,
      clientMessageId: 'client-m1',
      sendFingerprint: expect.any(String) as unknown,
      redacted: true,
      editCount: 0,
      reactions: new Map(),
    });
    expect(state.messages.get('m2')?.editCount).toBe(1);
    expect(state.messages.get('m2')?.reactions).toEqual(
      new Map([
        [carol.id, new Set(['👍'])],
        [dave.id, new Set(['🙏'])],
      ]),
    );
    expect(state.messages.get('m3')?.threadRootId).toBe('m1');
    expect(state.readUpTo.get(dave.id)).toBe(2);
    expect(findMessageIdByClientMessageId(state, bob.id, 'client-m3')).toBe('m3');
    const json = JSON.stringify(serializeConversationState(state));
    for (const text of ['Blood pressure', 'Thanks', 'Will do', 'edited', 'Cardiology']) {
      expect(json).not.toContain(text);
    }
  });

  it('never changes the state it evolves from', () => {
    const before = rebuild(chat) as Conversation;
    const after = evolveConversation(before, reply) as Conversation;
    expect(before.messages.size).toBe(2);
    expect(after.messages.size).toBe(3);
    const reacted = evolveConversation(
      after,
      event('ReactionAdded', alice, { messageId: 'm1', emoji: '👍' }),
    );
    expect(after.messages.get('m1')?.reactions.size).toBe(0);
    expect((reacted as Conversation).messages.get('m1')?.reactions.size).toBe(1);
  });

  it('folds a stream to the same state as evolving event by event', () => {
    expect(foldConversation(history)).toEqual(rebuild(history));
    const half = rebuild(history.slice(0, 6));
    expect(foldConversation(history.slice(6), half)).toEqual(rebuild(history));
    expect(half).toEqual(rebuild(history.slice(0, 6)));
  });

  it('folds an owned state in place to the same state, reusing its maps instead of copying', () => {
    const owned = rebuild(history.slice(0, 6));
    if (!owned.exists) throw new Error('the history creates the conversation');
    const messages = owned.messages;
    const advanced = foldOwnedConversation(history.slice(6), owned);
    expect(advanced).toEqual(rebuild(history));
    if (!advanced.exists) throw new Error('still there');
    expect(advanced.messages).toBe(messages); // the same map, advanced: no copy per event
    // The copying fold leaves its input alone.
    const kept = rebuild(history.slice(0, 6));
    const before = JSON.stringify(serializeConversationState(kept));
    foldConversation(history.slice(6), kept);
    expect(JSON.stringify(serializeConversationState(kept))).toBe(before);
  });

  it('survives a snapshot round trip through JSON', () => {
    for (const events of [[], group, chat, history, [directCreated]]) {
      const state = rebuild(events);
      const snapshot = JSON.parse(JSON.stringify(serializeConversationState(state))) as unknown;
      expect(deserializeConversationState(snapshot)).toEqual(state);
    }
  });

  it('decides the same from a restored snapshot', () => {
    const restored = deserializeConversationState(
      JSON.parse(JSON.stringify(serializeConversationState(rebuild(chat)))),
    );
    const retry = command('SendMessage', carol, {
      clientMessageId: 'client-m1',
      text: 'Blood pressure is 150/95 this morning',
    });
    expect(conversationDecider.decide(retry, restored, context())).toEqual([]);
    expect(findMessageIdByClientMessageId(restored, carol.id, 'client-m1')).toBe('m1');
    const reuse = command('SendMessage', carol, { clientMessageId: 'client-m1', text: 'again' });
    expect(() => conversationDecider.decide(reuse, restored, context())).toThrow(
      expect.objectContaining({ reason: 'idempotency_key_reused' }) as Error,
    );
  });

  it('loads a snapshot written before sends were fingerprinted, and lets its messages be retried', () => {
    const snapshot = serializeConversationState(rebuild(chat));
    const old = {
      ...snapshot,
      conversation: {
        ...snapshot.conversation!,
        messages: snapshot.conversation!.messages.map(({ sendFingerprint: _, ...m }) => m),
      },
    };
    const restored = deserializeConversationState(JSON.parse(JSON.stringify(old)));
    const retry = command('SendMessage', carol, { clientMessageId: 'client-m1', text: 'again' });
    expect(conversationDecider.decide(retry, restored, context())).toEqual([]);
  });

  it('refuses snapshots of another version or shape', () => {
    const snapshot = serializeConversationState(rebuild(chat));
    expect(snapshot.snapshotVersion).toBe(CONVERSATION_SNAPSHOT_VERSION);
    expect(() => deserializeConversationState({ ...snapshot, snapshotVersion: 99 })).toThrow(
      expect.objectContaining({ problem: 'unsupported_version' }) as Error,
    );
    expect(() =>
      deserializeConversationState({ snapshotVersion: 1, conversation: { kind: 'group' } }),
    ).toThrow(expect.objectContaining({ problem: 'invalid_format' }) as Error);
    expect(() => deserializeConversationState(null)).toThrow(InvalidConversationInput);
  });
});

describe('errors', () => {
  it('carry ids and reason codes, never what was typed', () => {
    const secret = 'Patient Jane Doe, HIV+';
    const attempts: ConversationCommand[] = [
      command('SendMessage', mallory, { clientMessageId: 'c', text: secret }),
      command('SendMessage', carol, { clientMessageId: 'c', text: `${secret}\u0007` }),
      command('EditMessage', bob, { messageId: 'm1', text: secret }),
      command('RedactMessage', bob, { messageId: 'm1', reason: `${secret}\u0000` }),
      command('RenameConversation', carol, { title: secret }),
    ];
    for (const attempt of attempts) {
      let thrown: unknown;
      try {
        conversationDecider.decide(attempt, rebuild(chat), context());
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect((thrown as Error).message).not.toContain('Jane');
      expect(JSON.stringify(thrown)).not.toContain('Jane');
    }
  });

  it('name the refusal by a stable code and reason', () => {
    const error = new ConversationRefused('not_author', GROUP, { messageId: 'm1' });
    expect(error.code).toBe('conversation_refused');
    expect(error.reason).toBe('not_author');
    expect(error.message).toBe(`conversation ${GROUP}: refused (not_author) message m1`);
  });
});

describe('mentions', () => {
  it('are <@id> tokens, each once, in order', () => {
    expect(extractMentions('<@b> hi <@a> and <@b>, not @c or <@> or <@x y>')).toEqual(['b', 'a']);
  });
});
