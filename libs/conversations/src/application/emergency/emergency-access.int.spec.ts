import { AccessDeniedError, type Principal } from '@ledgerline/identity';
import { uuidV7Generator, type GlobalPosition } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import { SqlConversationMemberships } from '../../adapters/sql-conversation-memberships.adapter';
import { SqlEmergencyGrants } from '../../adapters/sql-emergency-grants.adapter';
import type { ConversationProjections } from '../../projections/conversation-projections';
import { NotAConversationMemberError } from '../conversations.errors';
import type { ConversationRequest } from '../conversation-commands.handler';
import { ConversationQueries } from '../queries/conversation-queries.handler';
import {
  newTenant,
  openConversationsFixture,
  type CommandsInstance,
  type ConversationsFixture,
} from '../testing/conversations-fixture';
import {
  EmergencyAccess,
  emergencyStreamId,
  type EmergencyAlert,
} from './emergency-access.handler';
import { EmergencyGrantRefusedError } from './emergency-access.errors';

const REASON = 'CANARY-bg patient unresponsive in bay 4, covering clinician';

for (const kind of availableDatabases()) {
  describe(`break-glass access on ${kind}`, () => {
    let f: ConversationsFixture;
    let projections: ConversationProjections;
    let commands: CommandsInstance;
    let emergency: EmergencyAccess;
    let queries: ConversationQueries;
    let t: ReturnType<typeof newTenant>;
    let admin: Principal;
    let conversationId: string;
    let messageId: string;
    let last: GlobalPosition;
    const alerts: EmergencyAlert[] = [];

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
      emergency = EmergencyAccess.create(
        new SqlEmergencyGrants(f.db.client),
        new SqlConversationMemberships(f.db.client),
        f.ledger,
        f.access,
        f.accessLog,
        {
          clock: f.clock,
          ids: uuidV7Generator,
          alerts: { raise: (a) => alerts.push(a) },
        },
      );
      queries = new ConversationQueries(f.access, f.accessLog, f.readModels, f.ledger, {
        emergency,
      });
      t = newTenant();
      admin = { ...t.alice, id: 'root-admin', roles: ['admin'] };
      conversationId = t.conversationId();
      await run(t.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title: 'Bay 4',
          members: [{ id: 'bob', kind: 'user', role: 'member' }],
        },
      });
      messageId = (
        await run(t.bob, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: 'm1', text: 'K+ 6.1' },
        })
      ).messageId!;
      await projections.waitFor(last);
    });
    afterAll(async () => {
      await f?.close();
    });
    beforeEach(() => {
      f.accessLog.clear();
      alerts.length = 0;
    });

    it('a non-member without a grant is refused', async () => {
      await expect(queries.messages(t.carol, conversationId)).rejects.toThrow(
        NotAConversationMemberError,
      );
    });

    it('only emergency.grant may grant, with a mandatory reason, and never to a member', async () => {
      await expect(
        emergency.grant(t.alice, { userId: 'carol', conversationId, reason: REASON, minutes: 30 }),
      ).rejects.toThrow(AccessDeniedError);
      expect(f.accessLog.records.map((r) => [r.action, r.permission])).toEqual([
        ['access.denied', 'emergency.grant'],
      ]);
      await expect(
        emergency.grant(admin, { userId: 'carol', conversationId, reason: '  ', minutes: 30 }),
      ).rejects.toMatchObject({ field: 'reason', problem: 'required' });
      await expect(
        emergency.grant(admin, {
          userId: 'carol',
          conversationId,
          reason: REASON,
          minutes: 24 * 60 + 1,
        }),
      ).rejects.toMatchObject({ field: 'minutes', problem: 'too_long' });
      await expect(
        emergency.grant(admin, { userId: 'bob', conversationId, reason: REASON, minutes: 30 }),
      ).rejects.toThrow(EmergencyGrantRefusedError);
    });

    it('a grant lets the named person read, each read recorded and alerted, in the accounting of disclosures; it expires', async () => {
      const grant = await emergency.grant(admin, {
        userId: 'carol',
        conversationId,
        reason: REASON,
        minutes: 30,
      });
      expect(f.accessLog.records).toEqual([
        expect.objectContaining({
          action: 'emergency.access.granted',
          actor: { id: 'root-admin', kind: 'user', roles: ['admin'] },
          conversationId,
          targetIds: [grant.grantId],
          subjectUserIds: ['alice', 'bob', 'carol'],
        }),
      ]);
      expect(alerts.map((a) => [a.kind, a.granteeId, a.grantId])).toEqual([
        ['granted', 'carol', grant.grantId],
      ]);
      f.accessLog.clear();
      alerts.length = 0;

      const page = await queries.messages(t.carol, conversationId);
      expect(page.items.map((m) => m.messageId)).toEqual([messageId]);
      expect(f.accessLog.records.map((r) => [r.action, r.outcome, r.operation ?? null])).toEqual([
        ['emergency.access.used', 'allowed', 'messages'],
        ['phi.history.read', 'allowed', null],
      ]);
      // The read's own record names whose data it disclosed: the accounting of disclosures.
      expect(f.accessLog.records[1]).toMatchObject({
        actor: { id: 'carol' },
        subjectUserIds: ['alice', 'bob'],
        targetIds: [messageId],
      });
      expect(alerts.map((a) => [a.kind, a.actorId])).toEqual([['used', 'carol']]);
      // Only the named person: another non-member is still refused.
      await expect(queries.messages(t.dave, conversationId)).rejects.toThrow(
        NotAConversationMemberError,
      );

      // The reason is sealed: neither in the grants table nor in clear in the event store.
      const dump = await f.db.client.query<{ t: string }>(
        `select row_to_json(g)::text as t from ll_emergency_grants g
         union all select encode(data, 'escape') from ll_events where stream_id = $1`,
        [emergencyStreamId(t.tenantId)],
      );
      expect(dump.length).toBeGreaterThan(1);
      expect(dump.map((d) => d.t).join('\n')).not.toContain('CANARY');
      expect(JSON.stringify(f.accessLog.records)).not.toContain('CANARY');

      f.clock.advance(31 * 60_000);
      await expect(queries.messages(t.carol, conversationId)).rejects.toThrow(
        NotAConversationMemberError,
      );
    });

    it('a revoked grant ends at once; revoking is recorded and alerted', async () => {
      const grant = await emergency.grant(admin, {
        userId: 'dave',
        conversationId,
        reason: REASON,
        minutes: 60,
      });
      await queries.messages(t.dave, conversationId);
      f.accessLog.clear();
      alerts.length = 0;
      await expect(emergency.revoke(admin, grant.grantId, '')).rejects.toMatchObject({
        field: 'reason',
      });
      const revoked = await emergency.revoke(admin, grant.grantId, 'patient transferred');
      expect(revoked.revokedAt).toEqual(f.clock.now());
      expect(f.accessLog.records.map((r) => [r.action, r.targetIds])).toEqual([
        ['emergency.access.revoked', [grant.grantId]],
      ]);
      expect(alerts.map((a) => a.kind)).toEqual(['revoked']);
      await expect(queries.messages(t.dave, conversationId)).rejects.toThrow(
        NotAConversationMemberError,
      );
      await expect(emergency.revoke(admin, grant.grantId, 'again')).rejects.toThrow(
        EmergencyGrantRefusedError,
      );
    });
  });
}
