import type { AccessRecord } from '@ledgerline/identity';
import { UnavailableError, uuidV7Generator } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import { availableDatabases, openLedgerFixture, type LedgerFixture } from '@ledgerline/testing';
import { auditStreamId } from '../audit-stream';
import { parseAccessRecorded } from './access-recorded.event';
import { AuditUnavailableError, LedgerAccessRecorder } from './ledger-access-recorder';

const read = (tenantId: string, n: number): AccessRecord => ({
  tenantId,
  actor: { id: 'u-9', kind: 'user', roles: ['user'] },
  action: 'phi.history.read',
  outcome: 'allowed',
  conversationId: 'c-1',
  targetIds: [`m-${n}`],
  subjectUserIds: ['u-2'],
  origin: { transport: 'http', clientAddress: '10.0.0.7', userAgent: 'app/1.0', deviceId: 'd-1' },
});

for (const kind of availableDatabases()) {
  describe(`access recorder on ${kind}`, () => {
    let f: LedgerFixture;
    beforeAll(async () => {
      f = await openLedgerFixture(kind);
    });
    afterAll(async () => {
      await f?.close();
    });

    function counting(): { ledger: Pick<Ledger, 'append'>; appends: number[] } {
      const appends: number[] = [];
      return {
        appends,
        ledger: {
          append: (tenantId, streamId, events, expected) => {
            appends.push(events.length);
            return f.ledger.append(tenantId, streamId, events, expected);
          },
        },
      };
    }

    it('appends concurrent records of a tenant together, each with every field', async () => {
      const { ledger, appends } = counting();
      const recorder = new LedgerAccessRecorder(ledger, {
        node: 'node-a',
        clock: f.clock,
        ids: uuidV7Generator,
      });
      await Promise.all(Array.from({ length: 40 }, (_, n) => recorder.record(read('tenant-x', n))));
      expect(appends.reduce((a, b) => a + b, 0)).toBe(40);
      expect(appends.length).toBeLessThan(40);

      const events = await f.ledger.readStream(auditStreamId('tenant-x'));
      expect(events).toHaveLength(40);
      expect(events.every((e) => e.type === 'AccessRecorded')).toBe(true);
      expect(events[0]!.metadata['actor']).toEqual({ id: 'u-9', kind: 'user' });
      // The seal, and so the signed tree, commits to the content (access-content.ts).
      expect(events[0]!.metadata['contentDigest']).toMatch(/^[0-9a-f]{64}$/);
      const first = events[0]!.body;
      if (first.status !== 'available') throw new Error('expected an opened body');
      expect(parseAccessRecorded(first.payload)).toEqual({
        actor: { id: 'u-9', kind: 'user', roles: ['user'] },
        action: 'phi.history.read',
        outcome: 'allowed',
        conversationId: 'c-1',
        targetIds: ['m-0'],
        subjectUserIds: ['u-2'],
        origin: {
          node: 'node-a',
          transport: 'http',
          clientAddress: '10.0.0.7',
          userAgent: 'app/1.0',
          deviceId: 'd-1',
        },
        at: f.clock.now().toISOString(),
        salt: expect.stringMatching(/^[A-Za-z0-9+/]{22}==$/) as string,
      });
    });

    it('caps a batch, and names work no client asked for `internal`', async () => {
      const { ledger, appends } = counting();
      const recorder = new LedgerAccessRecorder(ledger, {
        node: 'node-a',
        clock: f.clock,
        ids: uuidV7Generator,
        batchMax: 4,
      });
      const { origin: _origin, ...internal } = read('tenant-y', 0);
      await Promise.all(Array.from({ length: 10 }, () => recorder.record(internal)));
      expect(Math.max(...appends)).toBeLessThanOrEqual(4);
      const events = await f.ledger.readStream(auditStreamId('tenant-y'));
      expect(events).toHaveLength(10);
      const body = events[0]!.body;
      expect(body.status === 'available' && parseAccessRecorded(body.payload)?.origin).toEqual({
        node: 'node-a',
        transport: 'internal',
      });
    });

    it('records one after another, each made as the previous one is confirmed', async () => {
      const { ledger, appends } = counting();
      const recorder = new LedgerAccessRecorder(ledger, {
        node: 'node-a',
        clock: f.clock,
        ids: uuidV7Generator,
      });
      // Each record starts in the continuation of the previous one's confirmation, the moment a
      // finishing flush could drop it if it checked its queue before that record arrived.
      for (let n = 0; n < 5; n++) await recorder.record(read('tenant-seq', n));
      expect(appends).toEqual([1, 1, 1, 1, 1]);
      expect(await f.ledger.readStream(auditStreamId('tenant-seq'))).toHaveLength(5);
    });

    it('keeps recording after another process (the CLI) appended to the same audit stream', async () => {
      const recorder = new LedgerAccessRecorder(f.ledger, {
        node: 'server',
        clock: f.clock,
        ids: uuidV7Generator,
      });
      await recorder.record(read('tenant-shared', 1));
      // The CLI: a ledger of its own over the same store, appending behind the server's back.
      const cli = new LedgerAccessRecorder(f.newLedger().ledger, {
        node: 'cli',
        clock: f.clock,
        ids: uuidV7Generator,
      });
      for (let n = 2; n < 5; n++) await cli.record(read('tenant-shared', n));
      await expect(recorder.record(read('tenant-shared', 5))).resolves.toBeUndefined();
      expect(await f.ledger.readStream(auditStreamId('tenant-shared'))).toHaveLength(5);
    });

    it('fails closed: a record that cannot be appended rejects, retryable', async () => {
      const errors: Record<string, unknown>[] = [];
      const recorder = new LedgerAccessRecorder(
        { append: () => Promise.reject(new UnavailableError('database down')) },
        { node: 'n', clock: f.clock, ids: uuidV7Generator, log: { error: (e) => errors.push(e) } },
      );
      const failure = await recorder.record(read('tenant-z', 1)).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(AuditUnavailableError);
      expect(failure).toMatchObject({ code: 'audit_unavailable', retryable: true });
      expect(errors).toEqual([
        expect.objectContaining({ tenantId: 'tenant-z', records: 1, code: 'unavailable' }),
      ]);
      expect(JSON.stringify(errors)).not.toContain('m-1');
    });

    it('fails open only for the tenants configured so, and still logs the failure', async () => {
      const errors: Record<string, unknown>[] = [];
      const recorder = new LedgerAccessRecorder(
        { append: () => Promise.reject(new UnavailableError('database down')) },
        {
          node: 'n',
          clock: f.clock,
          ids: uuidV7Generator,
          failOpenTenants: new Set(['lenient']),
          log: { error: (e) => errors.push(e) },
        },
      );
      await expect(recorder.record(read('lenient', 1))).resolves.toBeUndefined();
      await expect(recorder.record(read('strict', 1))).rejects.toBeInstanceOf(
        AuditUnavailableError,
      );
      await recorder.drain();
      expect(errors.map((e) => e['tenantId']).sort()).toEqual(['lenient', 'strict']);
    });
  });
}
