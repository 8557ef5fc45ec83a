import { uuidV7Generator } from '@ledgerline/kernel';
import { availableDatabases, openLedgerFixture, type LedgerFixture } from '@ledgerline/testing';
import { LedgerAccessDeniedRecorder } from './access-denied.recorder';
import { auditStreamId } from './audit-stream';

for (const kind of availableDatabases()) {
  describe(`access-denied recorder on ${kind}`, () => {
    let f: LedgerFixture;
    beforeAll(async () => {
      f = await openLedgerFixture(kind);
    });
    afterAll(async () => {
      await f?.close();
    });

    it('appends one sealed AccessDenied event per denial to the tenant audit stream', async () => {
      const recorder = new LedgerAccessDeniedRecorder(f.ledger, uuidV7Generator);
      const principal = { kind: 'user' as const, id: 'u-9', tenantId: 'tenant-x', roles: ['user'] };
      await recorder.record({
        principal,
        permission: 'audit.read',
        denial: 'missing_permission',
        resource: { tenantId: 'tenant-x', type: 'conversation', id: 'c-1' },
      });
      const events = await f.ledger.readStream(auditStreamId('tenant-x'));
      expect(events).toHaveLength(1);
      const [e] = events;
      expect(e!.type).toBe('AccessDenied');
      expect(e!.metadata['actor']).toEqual({ id: 'u-9', kind: 'user' });
      expect(e!.body.status).toBe('available');
      const payload: unknown =
        e!.body.status === 'available' ? JSON.parse(e!.body.payload.toString()) : null;
      expect(payload).toEqual({
        principal: { id: 'u-9', kind: 'user', roles: ['user'] },
        permission: 'audit.read',
        denial: 'missing_permission',
        resource: { tenantId: 'tenant-x', type: 'conversation', id: 'c-1' },
      });
    });
  });
}
