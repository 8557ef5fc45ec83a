import { LATEST } from '@ledgerline/kernel';
import type { OpenedEvent } from '@ledgerline/ledger';
import type { ConversationEvent } from '../../domain/conversation.events';
import { encodeConversationEvent } from '../conversation-events.codec';
import { UnsupportedConversationEventError } from '../conversations.errors';
import { ConversationReplayFold, replayConversation } from './conversation-replay';

// The fold itself is the domain's (domain/conversation.replay.unit.spec.ts); these check the step
// this file adds: each opened ledger event is read through the conversations codec.

const TENANT = 'clinic-a';
const CONVERSATION = '0190f1a2-0000-7000-8000-000000000001';
const alice = { id: 'alice', kind: 'user' } as const;
const minute = (n: number) => new Date(Date.UTC(2026, 10, 25, 10, n));

const base = (n: number) => ({
  tenantId: TENANT,
  conversationId: CONVERSATION,
  actor: alice,
  at: minute(n).toISOString(),
});
const created = {
  type: 'GroupConversationCreated',
  v: 1,
  data: { ...base(0), title: 'Ward 3 handover', members: [{ ...alice, role: 'owner' }] },
} as unknown as ConversationEvent;
const sent = {
  type: 'MessageSent',
  v: 1,
  data: {
    ...base(1),
    messageId: 'm1',
    clientMessageId: 'c-m1',
    sequence: 1,
    text: 'hello',
    mentions: [],
  },
} as unknown as ConversationEvent;
const edited = {
  type: 'MessageEdited',
  v: 1,
  data: { ...base(3), messageId: 'm1', text: 'hello again', mentions: [], editNumber: 1 },
} as unknown as ConversationEvent;

type Body = 'available' | 'shredded';

function opened(
  events: readonly (readonly [ConversationEvent, number, Body?])[],
  override: (i: number) => Partial<Pick<OpenedEvent, 'type' | 'schemaVersion'>> = () => ({}),
): OpenedEvent[] {
  return events.map(([event, n, body = 'available'], i) => {
    const plain = encodeConversationEvent(event, `event-${i}`);
    return {
      streamId: `conversation:${TENANT}:${CONVERSATION}`,
      revision: BigInt(i),
      position: { commit: 100n + BigInt(i), prepare: BigInt(i) },
      eventId: plain.eventId,
      type: plain.type,
      schemaVersion: plain.schemaVersion,
      tenantId: TENANT,
      recordedAt: minute(n),
      metadata: plain.metadata,
      body:
        body === 'shredded'
          ? { status: 'shredded', keyId: 'k1', epoch: '2026-11' }
          : { status: 'available', payload: Buffer.from(plain.payload) },
      ...override(i),
    };
  });
}

describe('replay over opened ledger events', () => {
  it('reads the text each payload holds', () => {
    const replayed = replayConversation(
      TENANT,
      CONVERSATION,
      opened([
        [created, 0],
        [sent, 1],
      ]),
      LATEST,
    );
    expect(replayed.title).toEqual({ status: 'available', text: 'Ward 3 handover' });
    expect(replayed.messages.map((m) => m.content)).toEqual([
      { status: 'available', text: 'hello' },
    ]);
  });

  it('a shredded payload is unavailable; its author comes from the clear metadata', () => {
    const replayed = replayConversation(
      TENANT,
      CONVERSATION,
      opened([
        [created, 0],
        [sent, 1, 'shredded'],
      ]),
      LATEST,
    );
    expect(replayed.messages.map((m) => [m.authorId, m.content.status])).toEqual([
      ['alice', 'unavailable'],
    ]);
  });

  it("another lib's event in the stream (libs/files) is passed over, not a gap", () => {
    const replayed = replayConversation(
      TENANT,
      CONVERSATION,
      opened(
        [
          [created, 0],
          [sent, 1],
        ],
        (i) => (i === 1 ? { type: 'FileUploaded' } : {}),
      ),
      LATEST,
    );
    expect(replayed.gaps).toEqual([]);
    expect(replayed.messages).toEqual([]);
    expect(replayed.eventsFolded).toBe(2);
  });

  it('an edit past the moment is read to note it on its message, not applied', () => {
    const fold = new ConversationReplayFold(TENANT, CONVERSATION, {
      kind: 'time',
      at: minute(2),
    });
    for (const e of opened([
      [created, 0],
      [sent, 1],
      [edited, 3],
    ])) {
      fold.apply(e);
    }
    const [message] = fold.result().messages;
    expect(message?.content).toEqual({ status: 'available', text: 'hello' });
    expect(message?.later.edits).toBe(1);
  });

  it('a payload of a schema version the codec does not know is an error, never guessed', () => {
    expect(() =>
      replayConversation(
        TENANT,
        CONVERSATION,
        opened(
          [
            [created, 0],
            [sent, 1],
          ],
          (i) => (i === 1 ? { schemaVersion: 2 } : {}),
        ),
        LATEST,
      ),
    ).toThrow(UnsupportedConversationEventError);
  });
});
