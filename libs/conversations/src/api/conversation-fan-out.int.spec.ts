import type { Principal } from '@ledgerline/identity';
import { availableDatabases } from '@ledgerline/testing';
import type { ConversationCommands } from '../application/conversation-commands.handler';
import {
  newTenant,
  openConversationsFixture,
  type ConversationsFixture,
} from '../application/testing/conversations-fixture';
import { SqlConversationMemberships } from '../adapters/sql-conversation-memberships.adapter';
import type { ConversationProjections } from '../projections/conversation-projections';
import { membershipFromReadModels } from './conversation-live-events';
import { ConversationFanOut, type LiveConversationEvent } from './conversation-fan-out';

// The fan-out on the real stack: ledger (sealed events), event store, read models and checkpoints.

describe.each(availableDatabases())('ConversationFanOut (%s)', (kind) => {
  let f: ConversationsFixture;
  let commands: ConversationCommands;
  let projections: ConversationProjections;
  const fanOuts: ConversationFanOut[] = [];

  beforeAll(async () => {
    f = await openConversationsFixture(kind);
    commands = (await f.newCommands()).commands;
    projections = await f.newProjections();
    projections.start();
  });
  afterAll(async () => {
    for (const fanOut of fanOuts) await fanOut.stop();
    await f?.close();
  });

  async function liveFanOut() {
    const fanOut = new ConversationFanOut(
      f.ledger,
      f.store,
      membershipFromReadModels(new SqlConversationMemberships(f.db.client), projections),
    );
    fanOuts.push(fanOut);
    fanOut.start();
    await fanOut.whenLive(5_000);
    return fanOut;
  }

  function collect(fanOut: ConversationFanOut, principal: Principal, conversationId?: string) {
    const received: LiveConversationEvent[] = [];
    const stop = fanOut.register(principal, { conversationId }, (e) => received.push(e));
    return { received, stop };
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const kinds = (events: readonly LiveConversationEvent[]) => events.map((e) => e.event.type);

  it('delivers to members only, follows membership changes, and never crosses tenants', async () => {
    const fanOut = await liveFanOut();
    const t = newTenant();
    const other = newTenant();
    const bob = collect(fanOut, t.bob);
    const carol = collect(fanOut, t.carol);
    const backend = collect(fanOut, t.backend);
    const stranger = collect(fanOut, other.alice); // same user id, another tenant

    const conversationId = t.conversationId();
    await commands.execute(t.alice, {
      type: 'CreateGroupConversation',
      data: {
        conversationId,
        title: 'Ward 3',
        members: [{ id: 'bob', kind: 'user', role: 'member' }],
      },
    });
    await commands.execute(t.alice, {
      type: 'SendMessage',
      data: { conversationId, clientMessageId: 'a-1', text: 'before carol' },
    });
    await commands.execute(t.alice, {
      type: 'AddMember',
      data: { conversationId, member: { id: 'carol', kind: 'user' }, role: 'member' },
    });
    await commands.execute(t.alice, {
      type: 'SendMessage',
      data: { conversationId, clientMessageId: 'a-2', text: 'with carol' },
    });
    await commands.execute(t.alice, {
      type: 'RemoveMember',
      data: { conversationId, memberId: 'bob' },
    });
    const last = await commands.execute(t.alice, {
      type: 'SendMessage',
      data: { conversationId, clientMessageId: 'a-3', text: 'after bob' },
    });

    await until(() => backend.received.length === 6, 'the service to see all six events');
    await until(() => carol.received.length === 4, "carol's events");
    expect(kinds(bob.received)).toEqual([
      'GroupConversationCreated',
      'MessageSent',
      'MemberAdded',
      'MessageSent',
      'MemberRemoved', // how bob learns he was removed; nothing after it
    ]);
    expect(kinds(carol.received)).toEqual([
      'MemberAdded', // her own addition
      'MessageSent',
      'MemberRemoved',
      'MessageSent',
    ]);
    expect(carol.received.map((e) => e.eventId)).not.toContain(bob.received[1]!.eventId);
    expect(backend.received.at(-1)!.position).toEqual(last.position);
    expect(stranger.received).toEqual([]);
    expect([...bob.received, ...carol.received].every((e) => e.tenantId === t.tenantId)).toBe(true);
    for (const c of [bob, carol, backend, stranger]) c.stop();
    expect(fanOut.subscriberCount).toBe(0);
  });

  it('asks the read models about a conversation that existed before it started', async () => {
    const t = newTenant();
    const conversationId = t.conversationId();
    const created = await commands.execute(t.alice, {
      type: 'CreateGroupConversation',
      data: {
        conversationId,
        title: 'Old',
        members: [{ id: 'bob', kind: 'user', role: 'member' }],
      },
    });
    await projections.waitFor(created.position!);

    const fanOut = await liveFanOut();
    const bob = collect(fanOut, t.bob, conversationId);
    const carol = collect(fanOut, t.carol); // never a member
    const sent = await commands.execute(t.alice, {
      type: 'SendMessage',
      data: { conversationId, clientMessageId: 'a-1', text: 'still here' },
    });
    await until(() => bob.received.length === 1, "bob's message");
    expect(bob.received[0]).toMatchObject({
      conversationId,
      position: sent.position,
      revision: sent.revision,
    });
    expect(bob.received[0]!.event).toMatchObject({
      type: 'MessageSent',
      data: { text: 'still here' },
    });
    // An event of carol's own, routed after the message, shows she was passed over.
    const own = t.conversationId();
    await commands.execute(t.carol, {
      type: 'CreateGroupConversation',
      data: { conversationId: own, title: 'Mine', members: [] },
    });
    await until(() => carol.received.length === 1, "carol's own event");
    expect(carol.received.map((e) => e.conversationId)).toEqual([own]);
  });

  it('starts from the end of the log after a restart: what was sent meanwhile is not replayed', async () => {
    const t = newTenant();
    const conversationId = t.conversationId();
    await commands.execute(t.alice, {
      type: 'CreateGroupConversation',
      data: {
        conversationId,
        title: 'History',
        members: [{ id: 'bob', kind: 'user', role: 'member' }],
      },
    });
    const first = await liveFanOut();
    await first.stop();
    await commands.execute(t.alice, {
      type: 'SendMessage',
      data: { conversationId, clientMessageId: 'old', text: 'sent while no fan-out ran' },
    });

    // A restart starts at the store's head: the message sent meanwhile is history.
    const second = await liveFanOut();
    const bob = collect(second, t.bob);
    const live = await commands.execute(t.alice, {
      type: 'SendMessage',
      data: { conversationId, clientMessageId: 'new', text: 'live' },
    });
    await until(() => bob.received.length === 1, 'the live message');
    expect(bob.received.map((e) => e.position)).toEqual([live.position]);
  });
});
