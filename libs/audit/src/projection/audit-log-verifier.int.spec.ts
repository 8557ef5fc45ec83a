import { randomUUID } from 'node:crypto';
import { availableDatabases } from '@ledgerline/testing';
import { AuditLogVerifier } from './audit-log-verifier';
import { openAuditLogFixture, phiRead, type AuditLogFixture } from './testing/audit-log-fixture';

const tenant = () => `t${randomUUID().slice(0, 8)}`;

for (const kind of availableDatabases()) {
  describe(`audit log verifier on ${kind}`, () => {
    let a: AuditLogFixture;
    let t: string;
    let verifier: AuditLogVerifier;
    beforeAll(async () => {
      a = await openAuditLogFixture(kind);
      a.projection.start();
      t = tenant();
      for (const [n, actor] of ['alice', 'bob', 'carol', 'dave'].entries()) {
        await a.recorder.record({
          ...phiRead(t, actor, ['erin', 'frank'], 'c-1', [`m-${n}`]),
          ...(n === 3 ? { action: 'access.denied', outcome: 'denied', operation: 'messages' } : {}),
        });
      }
      await a.caughtUp();
      verifier = new AuditLogVerifier(a.f.store, a.f.ledger, a.f.db.client);
    });
    afterAll(async () => {
      await a?.close();
    });

    const failures = async () =>
      (await verifier.verify()).failures.map((f) => `${f.where}: ${f.message}`);
    const rowOf = async (actor: string) => {
      const [row] = await a.f.db.client.query<{ event_id: string }>(
        'select event_id from ll_audit_log where tenant_id = $1 and actor_id = $2',
        [t, actor],
      );
      return row!.event_id;
    };

    it('finds every row as its sealed access event says', async () => {
      const result = await verifier.verify();
      expect(result.failures).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.rowsChecked).toBeGreaterThanOrEqual(4);
    });

    it('reports a row altered with the triggers disabled, naming the columns, not their values', async () => {
      const id = await rowOf('bob');
      await a.tamper(
        `update ll_audit_log set actor_id = 'mallory', outcome = 'denied' where event_id = $1`,
        [id],
      );
      const found = await failures();
      expect(found).toEqual([
        expect.stringMatching(
          new RegExp(
            `row of event ${id} .*: actor_id, outcome differ from the sealed access event: altered`,
          ),
        ),
      ]);
      expect(found.join('\n')).not.toContain('mallory');
      await a.tamper(
        `update ll_audit_log set actor_id = 'bob', outcome = 'allowed' where event_id = $1`,
        [id],
      );
      expect(await failures()).toEqual([]);
    });

    it('reports an altered accounting of disclosures (a subject removed)', async () => {
      const id = await rowOf('carol');
      await a.tamper(
        `delete from ll_audit_log_subjects where event_id = $1 and subject_user_id = 'erin'`,
        [id],
      );
      expect(await failures()).toEqual([
        expect.stringMatching(new RegExp(`row of event ${id} .*: ll_audit_log_subjects differ`)),
      ]);
    });

    it('reports a deleted row and an inserted one', async () => {
      const id = await rowOf('alice');
      await a.tamper(`delete from ll_audit_log where event_id = $1`, [id]);
      await a.tamper(
        `insert into ll_audit_log (event_id, tenant_id, commit_position, prepare_position, stream_revision,
           at, recorded_at, actor_id, actor_kind, actor_roles, action, outcome, target_ids, subject_user_ids)
         values ('forged-1', $1, 1, 1, 0, now(), now(), 'mallory', 'user', '{user}', 'phi.history.read',
           'allowed', '{}', '{}')`,
        [t],
      );
      const found = await failures();
      expect(found).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /row of event forged-1 .*: the row has no access event at its position in the log: inserted/,
          ),
          expect.stringMatching(
            new RegExp(
              `access event ${id} .*: the sealed access event has no row in the audit log: deleted`,
            ),
          ),
          expect.stringMatching(
            new RegExp(
              `subjects of event ${id} .*: accounting-of-disclosures rows with no audit log row`,
            ),
          ),
        ]),
      );
    });
  });
}
