import { randomUUID } from 'node:crypto';
import { uuidV7Generator } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import { LedgerAccessRecorder } from '../access/ledger-access-recorder';
import { parseAccessRecorded } from '../access/access-recorded.event';
import { auditStreamId } from '../audit-stream';
import type { AuditBundle } from './audit-bundle';
import { AuditExporter } from './audit-exporter';
import { verifyBundle } from './bundle-verifier';
import { openCheckpointFixture, type CheckpointFixture } from './testing/checkpoint-fixture';

const T = 'clinic-content';
const clone = (b: AuditBundle): AuditBundle => JSON.parse(JSON.stringify(b)) as AuditBundle;
const failures = (b: AuditBundle) =>
  verifyBundle(JSON.stringify(b)).failures.map((f) => `${f.check} ${f.where}: ${f.message}`);

for (const kind of availableDatabases()) {
  describe(`access records' content in audit bundles on ${kind}`, () => {
    let c: CheckpointFixture;
    let bundle: AuditBundle;
    let warnings: readonly string[];

    beforeAll(async () => {
      c = await openCheckpointFixture(kind);
      const recorder = new LedgerAccessRecorder(c.f.ledger, {
        node: 'node-a',
        clock: c.f.clock,
        ids: uuidV7Generator,
      });
      // One record as the first recorder wrote them: no content digest in its metadata.
      await c.f.ledger.append(
        T,
        auditStreamId(T),
        [
          {
            eventId: randomUUID(),
            type: 'AccessRecorded',
            schemaVersion: 1,
            metadata: { actor: { id: 'old', kind: 'user' } },
            payload: Buffer.from(JSON.stringify({ action: 'phi.history.read' })),
          },
        ],
        'any',
      );
      for (const actor of ['alice', 'bob']) {
        await recorder.record({
          tenantId: T,
          actor: { id: actor, kind: 'user', roles: ['user'] },
          action: 'phi.history.read',
          outcome: 'allowed',
          conversationId: 'c-1',
          targetIds: ['m-1'],
          subjectUserIds: ['carol'],
          origin: { transport: 'http', clientAddress: '192.0.2.9' },
        });
      }
      await c.append(T, `note:${T}:1`, 1);
      await c.job.run();
      const exporter = new AuditExporter(c.f.store, c.log, c.signer, c.f.clock, c.f.ledger);
      ({ bundle, warnings } = await exporter.export({ tenantId: T }));
    });
    afterAll(async () => {
      await c?.close();
    });

    it('carries what each access record says, and the bundle proves it offline', () => {
      const access = bundle.records.filter((r) => r.access);
      expect(access).toHaveLength(2);
      const said = access.map((r) => parseAccessRecorded(Buffer.from(r.access!.content)));
      expect(said.map((s) => [s?.actor.id, s?.action, s?.outcome, s?.conversationId])).toEqual([
        ['alice', 'phi.history.read', 'allowed', 'c-1'],
        ['bob', 'phi.history.read', 'allowed', 'c-1'],
      ]);
      // Only access events: a note's payload stays out of the bundle.
      expect(JSON.stringify(bundle)).not.toContain('CANARY');
      expect(warnings).toEqual([
        expect.stringMatching(/access event whose content cannot be proven/),
      ]);
      const result = verifyBundle(JSON.stringify(bundle));
      expect(result.failures).toEqual([]);
      expect(result.notes.join('\n')).toContain('2 access record(s) carry their content');
    });

    it('fails a record whose content was changed (who did it, and the outcome)', () => {
      const changed = clone(bundle);
      const i = changed.records.findIndex((r) => r.access);
      const record = changed.records[i]!;
      record.access!.content = record
        .access!.content.replace('"alice"', '"mallory"')
        .replace('"allowed"', '"denied"');
      expect(failures(changed)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^content record ${i} .*: the access record differs from the content digest sealed with it: altered$`,
          ),
        ),
      ]);
    });

    it('fails a record whose content digest was changed with it', () => {
      const changed = clone(bundle);
      const i = changed.records.findIndex((r) => r.access);
      const record = changed.records[i]!;
      record.access!.content = record.access!.content.replace('"alice"', '"mallory"');
      record.access!.metadata['contentDigest'] = '0'.repeat(64);
      expect(failures(changed)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^content record ${i} .*: the sealed event carried with the access record does not hash to the record's seal: altered$`,
          ),
        ),
      ]);
    });
  });
}
