import { randomUUID } from 'node:crypto';
import { SqlError } from '@ledgerline/database';
import type { AccessRecord } from '@ledgerline/identity';
import { availableDatabases } from '@ledgerline/testing';
import { auditStreamId } from '../audit-stream';
import { UnreadableAccessEventError } from './audit-log-row';
import { openAuditLogFixture, phiRead, type AuditLogFixture } from './testing/audit-log-fixture';

const tenant = () => `t${randomUUID().slice(0, 8)}`;

/** Every field of an access record set, the optional ones included. */
const FULL: Omit<AccessRecord, 'tenantId'> = {
  actor: { id: 'key-7', kind: 'service', roles: ['service', 'auditor'], credentialId: 'key-7' },
  action: 'phi.edit_history.read',
  outcome: 'failed',
  reason: 'decrypt_failed',
  permission: 'conversation.read',
  operation: 'editHistory',
  conversationId: 'c-full',
  resourceType: 'message',
  targetIds: ['m-1', 'm-2'],
  subjectUserIds: ['alice', 'bob', 'alice'],
  origin: {
    transport: 'realtime',
    clientAddress: '2001:db8::7',
    userAgent: 'sdk/3.2 (ios)',
    deviceId: 'device-42',
  },
};

for (const kind of availableDatabases()) {
  describe(`audit log projection on ${kind}`, () => {
    let a: AuditLogFixture;
    beforeAll(async () => {
      a = await openAuditLogFixture(kind);
      a.projection.start();
    });
    afterAll(async () => {
      await a?.close();
    });

    it('holds every field of a record appended through the ledger', async () => {
      const t = tenant();
      await a.recorder.record({ tenantId: t, ...FULL });
      await a.caughtUp();

      const [event] = await a.f.ledger.readStream(auditStreamId(t));
      const rows = await a.f.db.client.query<Record<string, unknown>>(
        `select event_id, tenant_id, commit_position::text as commit_position,
           prepare_position::text as prepare_position, stream_revision::text as stream_revision,
           at, recorded_at, actor_id, actor_kind, actor_roles, actor_credential_id, action, outcome,
           reason, permission, conversation_id, resource_type, target_ids, subject_user_ids,
           origin_node, origin_transport, origin_client_address, origin_user_agent, origin_device_id,
           operation
         from ll_audit_log where tenant_id = $1`,
        [t],
      );
      expect(rows).toEqual([
        {
          event_id: event!.eventId,
          tenant_id: t,
          commit_position: event!.position.commit.toString(),
          prepare_position: event!.position.prepare.toString(),
          stream_revision: '0',
          at: a.f.clock.now(),
          recorded_at: event!.recordedAt,
          actor_id: 'key-7',
          actor_kind: 'service',
          actor_roles: ['service', 'auditor'],
          actor_credential_id: 'key-7',
          action: 'phi.edit_history.read',
          outcome: 'failed',
          reason: 'decrypt_failed',
          permission: 'conversation.read',
          conversation_id: 'c-full',
          resource_type: 'message',
          target_ids: ['m-1', 'm-2'],
          subject_user_ids: ['alice', 'bob', 'alice'],
          origin_node: 'node-test',
          origin_transport: 'realtime',
          origin_client_address: '2001:db8::7',
          origin_user_agent: 'sdk/3.2 (ios)',
          origin_device_id: 'device-42',
          operation: 'editHistory',
        },
      ]);
      const subjects = await a.f.db.client.query<{ subject_user_id: string }>(
        'select subject_user_id from ll_audit_log_subjects where tenant_id = $1 order by 1',
        [t],
      );
      expect(subjects.map((s) => s.subject_user_id)).toEqual(['alice', 'bob']);
    });

    it('leaves unset optional fields null, and projects each tenant’s stream under its tenant', async () => {
      const [t1, t2] = [tenant(), tenant()];
      await Promise.all([
        a.recorder.record(phiRead(t1, 'u-1', ['u-2'], 'c-1')),
        a.recorder.record(phiRead(t2, 'u-1', ['u-2'], 'c-1')),
      ]);
      await a.caughtUp();
      const rows = await a.f.db.client.query<Record<string, unknown>>(
        `select tenant_id, reason, permission, resource_type, actor_credential_id, origin_device_id
         from ll_audit_log where tenant_id = any($1::text[]) order by tenant_id`,
        [[t1, t2]],
      );
      expect(rows).toEqual(
        [t1, t2].sort().map((t) => ({
          tenant_id: t,
          reason: null,
          permission: null,
          resource_type: null,
          actor_credential_id: null,
          origin_device_id: null,
        })),
      );
    });

    it('projects the denials the first recorder wrote (AccessDenied v1), without an origin', async () => {
      const t = tenant();
      const deny = (resource: Record<string, string>) => ({
        eventId: randomUUID(),
        type: 'AccessDenied',
        schemaVersion: 1,
        metadata: { actor: { id: 'u-9', kind: 'user' as const } },
        payload: Buffer.from(
          JSON.stringify({
            principal: { id: 'u-9', kind: 'user', roles: ['user'] },
            permission: 'audit.read',
            denial: resource['tenantId'] === t ? 'missing_permission' : 'other_tenant',
            resource,
          }),
        ),
      });
      await a.f.ledger.append(
        t,
        auditStreamId(t),
        [
          deny({ tenantId: t, type: 'conversation', id: 'c-5' }),
          deny({ tenantId: 'elsewhere', type: 'conversation', id: 'c-other' }),
        ],
        'any',
      );
      await a.caughtUp();
      const rows = await a.f.db.client.query<Record<string, unknown>>(
        `select actor_id, actor_kind, action, outcome, reason, permission, conversation_id,
           resource_type, target_ids, subject_user_ids, origin_node, origin_transport
         from ll_audit_log where tenant_id = $1 order by prepare_position`,
        [t],
      );
      const common = {
        actor_id: 'u-9',
        actor_kind: 'user',
        action: 'access.denied',
        outcome: 'denied',
        permission: 'audit.read',
        subject_user_ids: [],
        origin_node: null,
        origin_transport: null,
      };
      expect(rows).toEqual([
        {
          ...common,
          reason: 'missing_permission',
          conversation_id: 'c-5',
          resource_type: null,
          target_ids: ['c-5'],
        },
        // Another tenant's ids stay out of this tenant's log.
        {
          ...common,
          reason: 'other_tenant',
          conversation_id: null,
          resource_type: 'conversation',
          target_ids: [],
        },
      ]);
    });

    it('passes over events that are not access events, and says so', async () => {
      const t = tenant();
      const eventId = randomUUID();
      await a.f.ledger.append(
        t,
        auditStreamId(t),
        [
          {
            eventId,
            type: 'SomethingNewer',
            schemaVersion: 1,
            metadata: {},
            payload: Buffer.from('{}'),
          },
        ],
        'any',
      );
      await a.recorder.record(phiRead(t, 'u-1', ['u-2'], 'c-1'));
      await a.caughtUp();
      expect(a.skipped).toContainEqual({ eventId, type: 'SomethingNewer', reason: 'unknown_type' });
      const [row] = await a.f.db.client.query<{ n: number }>(
        'select count(*)::int as n from ll_audit_log where tenant_id = $1',
        [t],
      );
      expect(row!.n).toBe(1);
    });

    it('is idempotent: a replay from the first event adds nothing and changes nothing', async () => {
      const t = tenant();
      for (let n = 0; n < 7; n++) {
        a.f.clock.advance(1_000);
        await a.recorder.record(phiRead(t, `u-${n % 3}`, ['u-2', `u-${n}`], 'c-9', [`m-${n}`]));
      }
      await a.caughtUp();
      const before = await a.dump();
      const outcome = await a.projection.replay();
      expect(outcome.rowsAdded).toBe(0);
      expect(outcome.eventsRead).toBe(before.log.length);
      expect(outcome.generation).toBeGreaterThan(1);
      expect(await a.dump()).toEqual(before);
      expect(a.projection.running).toBe(true);
    });

    it('a replay fills in a row missing from the log, and only that', async () => {
      const t = tenant();
      await a.recorder.record(phiRead(t, 'u-1', ['u-2', 'u-3'], 'c-1', ['m-1']));
      await a.caughtUp();
      const complete = await a.dump();
      const [victim] = await a.f.ledger.readStream(auditStreamId(t));
      await a.tamper('delete from ll_audit_log_subjects where event_id = $1', [victim!.eventId]);
      await a.tamper('delete from ll_audit_log where event_id = $1', [victim!.eventId]);
      expect((await a.dump()).log).toHaveLength(complete.log.length - 1);

      const outcome = await a.projection.replay();
      expect(outcome.rowsAdded).toBe(1);
      expect(await a.dump()).toEqual(complete);
    });

    it('refuses UPDATE, DELETE and TRUNCATE of both tables from the application’s connection', async () => {
      const t = tenant();
      await a.recorder.record(phiRead(t, 'u-1', ['u-2'], 'c-1', ['m-1']));
      await a.caughtUp();
      const before = await a.dump();
      expect(before.log.length).toBeGreaterThan(0);
      expect(before.subjects.length).toBeGreaterThan(0);

      const statements = [
        `update ll_audit_log set action = 'audit.searched' where tenant_id = '${t}'`,
        `update ll_audit_log set at = at - interval '1 day'`,
        `delete from ll_audit_log where tenant_id = '${t}'`,
        'delete from ll_audit_log',
        'truncate ll_audit_log',
        `update ll_audit_log_subjects set subject_user_id = 'someone-else'`,
        `delete from ll_audit_log_subjects where tenant_id = '${t}'`,
        'truncate ll_audit_log_subjects',
        'truncate ll_audit_log, ll_audit_log_subjects',
      ];
      for (const sql of statements) {
        const error = await a.f.db.client.query(sql).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(SqlError);
        expect((error as SqlError).sqlState).toBe('LL403');
      }
      // Inside a transaction too, and the transaction changes nothing.
      const inTx = await a.f.db.client
        .transaction(async (tx) => {
          await tx.query(`insert into ll_audit_log_projection (name) values ('x')`);
          await tx.query('delete from ll_audit_log');
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((inTx as SqlError).sqlState).toBe('LL403');
      expect(await a.dump()).toEqual(before);
      const [stray] = await a.f.db.client.query(
        `select 1 from ll_audit_log_projection where name = 'x'`,
      );
      expect(stray).toBeUndefined();
    });

    it('resumes from its checkpoint after a stop, projecting what was recorded meanwhile', async () => {
      const t = tenant();
      await a.projection.stop();
      expect(a.projection.running).toBe(false);
      await a.recorder.record(phiRead(t, 'u-1', ['u-2'], 'c-1', ['m-1']));
      await a.recorder.record(phiRead(t, 'u-3', ['u-2'], 'c-1', ['m-2']));
      a.projection.start();
      await a.caughtUp();
      const rows = await a.f.db.client.query<{ actor_id: string }>(
        'select actor_id from ll_audit_log where tenant_id = $1 order by prepare_position',
        [t],
      );
      expect(rows.map((r) => r.actor_id)).toEqual(['u-1', 'u-3']);
      expect(a.errors).toEqual([]);
    });
  });

  describe(`audit log projection on ${kind}, facing an access event it cannot read`, () => {
    let a: AuditLogFixture;
    beforeAll(async () => {
      a = await openAuditLogFixture(kind);
    });
    afterAll(async () => {
      await a?.close();
    });

    it('stops there and keeps retrying rather than leave a hole in the log', async () => {
      const t = tenant();
      await a.recorder.record(phiRead(t, 'u-1', ['u-2'], 'c-1', ['m-1']));
      const bad = randomUUID();
      await a.f.ledger.append(
        t,
        auditStreamId(t),
        [
          {
            eventId: bad,
            type: 'AccessRecorded',
            schemaVersion: 1,
            metadata: {},
            payload: Buffer.from(JSON.stringify({ action: 'phi.history.read', outcome: 'maybe' })),
          },
        ],
        'any',
      );
      await a.recorder.record(phiRead(t, 'u-3', ['u-2'], 'c-1', ['m-2']));
      a.projection.start();

      for (let i = 0; i < 500 && a.errors.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(a.errors.length).toBeGreaterThanOrEqual(2); // retried, and failed again
      // An alert naming the projection and the event (ids and codes only, never its content).
      expect(a.errors[0]).toMatchObject({
        alert: true,
        projection: 'audit-log',
        eventId: bad,
        code: new UnreadableAccessEventError(bad, 'AccessRecorded', 1, 'malformed_payload').code,
        message: expect.stringContaining('malformed_payload') as unknown,
      });
      const rows = await a.f.db.client.query<{ actor_id: string }>(
        'select actor_id from ll_audit_log where tenant_id = $1',
        [t],
      );
      expect(rows.map((r) => r.actor_id)).toEqual(['u-1']);
    });
  });
}
