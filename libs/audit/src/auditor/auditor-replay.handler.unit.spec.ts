import { join } from 'node:path';
import {
  AccessDeniedError,
  AccessPolicy,
  loadRolePolicy,
  type Principal,
} from '@ledgerline/identity';
import { LATEST, NotFoundError, type AsOf } from '@ledgerline/kernel';
import { CollectedAccessRecords } from '@ledgerline/testing';
import { AuditorReplay } from './auditor-replay.handler';
import { InvalidContentReasonError } from './auditor.errors';
import { MAX_CONTENT_REASON_CHARS } from './content-reason';
import type {
  ConversationReplaySource,
  ReplayedConversation,
  ReplayedUserView,
  ReplayRequester,
} from './conversation-replay.port';

// The permission layer in front of the conversations' replay, with the real roles file and
// policy. The replay itself (its access records, content, not-found) is libs/conversations'
// PointInTimeReplay, tested there; here a source stands in that notes what it was asked.

const ROLES_FILE = join(__dirname, '../../../../policies/roles.yaml');
const TENANT = 'clinic-a';
const CONVERSATION = '0190f1a2-0000-7000-8000-000000000001';
const T: AsOf = { kind: 'time', at: new Date('2026-11-25T10:00:00Z') };

const principal = (id: string, roles: readonly string[]): Principal => ({
  kind: 'user',
  id,
  tenantId: TENANT,
  roles,
  origin: { transport: 'http', clientAddress: '203.0.113.9', userAgent: 'replay-test' },
});
const alice = principal('alice', ['user']);
const audrey = principal('audrey', ['auditor']);
const ivan = principal('ivan', ['investigator']);

type Call = readonly [string, ReplayRequester, string, AsOf, { readonly reason: string }?];

/** Answers an empty conversation (or user view) and notes each call. */
class NotingSource implements ConversationReplaySource {
  readonly calls: Call[] = [];
  replayConversation(requester: ReplayRequester, conversationId: string, asOf: AsOf) {
    this.calls.push(['replayConversation', requester, conversationId, asOf]);
    return Promise.resolve(conversation(requester, conversationId, asOf));
  }
  replayUserView(requester: ReplayRequester, userId: string, asOf: AsOf) {
    this.calls.push(['replayUserView', requester, userId, asOf]);
    const view: ReplayedUserView = {
      tenantId: requester.tenantId,
      userId,
      asOf,
      conversations: [],
      undetermined: [],
    };
    return Promise.resolve(view);
  }
  conversationHistory(
    requester: ReplayRequester,
    conversationId: string,
    asOf: AsOf,
    content?: { readonly reason: string },
  ) {
    this.calls.push(
      content
        ? ['conversationHistory', requester, conversationId, asOf, content]
        : ['conversationHistory', requester, conversationId, asOf],
    );
    return Promise.resolve(conversation(requester, conversationId, asOf));
  }
}

function conversation(
  requester: ReplayRequester,
  conversationId: string,
  asOf: AsOf,
): ReplayedConversation {
  return {
    tenantId: requester.tenantId,
    conversationId,
    asOf,
    existed: false,
    kind: undefined,
    createdAt: undefined,
    createdById: undefined,
    title: undefined,
    archived: false,
    members: [],
    messages: [],
    gaps: [],
    lastPosition: undefined,
  };
}

describe('AuditorReplay', () => {
  let records: CollectedAccessRecords;
  let source: NotingSource;
  let replay: AuditorReplay;

  beforeEach(() => {
    records = new CollectedAccessRecords();
    source = new NotingSource();
    replay = new AuditorReplay(new AccessPolicy(loadRolePolicy(ROLES_FILE), records), source);
  });

  const denials = () =>
    records.records.map((r) => [r.action, r.permission, r.actor.id, r.conversationId]);

  it('a replay needs audit.replay: a refusal is recorded and the source never asked', async () => {
    await expect(replay.replayConversation(alice, CONVERSATION, T)).rejects.toThrow(
      AccessDeniedError,
    );
    await expect(replay.replayUserView(alice, 'bob', T)).rejects.toThrow(AccessDeniedError);
    expect(denials()).toEqual([
      ['access.denied', 'audit.replay', 'alice', CONVERSATION],
      ['access.denied', 'audit.replay', 'alice', undefined],
    ]);
    expect(source.calls).toEqual([]);
  });

  it('hands the source the requester as the access record names it, and answers what it answers', async () => {
    const replayed = await replay.replayConversation(audrey, CONVERSATION, T);
    const view = await replay.replayUserView(audrey, 'bob', LATEST);
    const requester: ReplayRequester = {
      tenantId: TENANT,
      actor: { id: 'audrey', kind: 'user', roles: ['auditor'] },
      origin: { transport: 'http', clientAddress: '203.0.113.9', userAgent: 'replay-test' },
    };
    expect(source.calls).toEqual([
      ['replayConversation', requester, CONVERSATION, T],
      ['replayUserView', requester, 'bob', LATEST],
    ]);
    expect(replayed).toMatchObject({ conversationId: CONVERSATION, asOf: T });
    expect(view).toMatchObject({ userId: 'bob', asOf: LATEST });
    // Allowed: nothing recorded here; the source records the replay itself.
    expect(records.records).toEqual([]);
  });

  it('the history needs audit.read; as of now by default, metadata only without a reason', async () => {
    await expect(replay.conversationHistory(alice, CONVERSATION)).rejects.toThrow(
      AccessDeniedError,
    );
    expect(denials()).toEqual([['access.denied', 'audit.read', 'alice', CONVERSATION]]);
    records.clear();

    await replay.conversationHistory(audrey, CONVERSATION);
    await replay.conversationHistory(audrey, CONVERSATION, T, null);
    expect(
      source.calls.map(([method, , id, asOf, content]) => [method, id, asOf, content]),
    ).toEqual([
      ['conversationHistory', CONVERSATION, LATEST, undefined],
      ['conversationHistory', CONVERSATION, T, undefined],
    ]);
    expect(records.records).toEqual([]);
  });

  it('content needs audit.content too, and a stated reason, trimmed; refusals ask the source nothing', async () => {
    await expect(
      replay.conversationHistory(audrey, CONVERSATION, T, 'case 2026-114'),
    ).rejects.toThrow(AccessDeniedError);
    expect(denials()).toEqual([['access.denied', 'audit.content', 'audrey', CONVERSATION]]);

    await expect(replay.conversationHistory(ivan, CONVERSATION, T, '  ')).rejects.toMatchObject({
      field: 'contentReason',
      problem: 'empty',
    });
    await expect(
      replay.conversationHistory(ivan, CONVERSATION, T, 'x'.repeat(MAX_CONTENT_REASON_CHARS + 1)),
    ).rejects.toMatchObject({ problem: 'too_long', limit: MAX_CONTENT_REASON_CHARS });
    await expect(
      replay.conversationHistory(ivan, CONVERSATION, T, 'case\u001b[2J'),
    ).rejects.toThrow(InvalidContentReasonError);
    expect(source.calls).toEqual([]);

    await replay.conversationHistory(ivan, CONVERSATION, T, '  case 2026-114 ');
    expect(source.calls).toEqual([
      [
        'conversationHistory',
        expect.objectContaining({ actor: { id: 'ivan', kind: 'user', roles: ['investigator'] } }),
        CONVERSATION,
        T,
        { reason: 'case 2026-114' },
      ],
    ]);
  });

  it('passes the source’s errors on as they are (not found, recorder down)', async () => {
    const missing = new NotFoundError('no conversation');
    source.replayConversation = () => Promise.reject(missing);
    await expect(replay.replayConversation(audrey, CONVERSATION, T)).rejects.toBe(missing);
  });
});
