import { IntegrityError, Ledger } from '@ledgerline/ledger';
import { availableDatabases } from '@ledgerline/testing';
import { MerkleSignedTails } from './merkle-signed-tails';
import { openCheckpointFixture, type CheckpointFixture } from './testing/checkpoint-fixture';

const S = 'note:clinic-tail:1';

for (const kind of availableDatabases()) {
  describe(`reads held against the latest signed checkpoint on ${kind}`, () => {
    let c: CheckpointFixture;
    let guarded: Ledger;
    const alarms: IntegrityError[] = [];

    beforeAll(async () => {
      c = await openCheckpointFixture(kind);
      const { dataKeys } = c.f.newLedger();
      guarded = new Ledger(c.f.store, dataKeys, {
        clock: c.f.clock,
        signedTails: MerkleSignedTails.create(c.f.db.client, { headTtlMs: 0 }),
        onIntegrityFailure: (e) => alarms.push(e),
      });
      await c.append('clinic-tail', S, 4);
      await c.job.run();
    });
    afterAll(async () => {
      await c?.close();
    });

    it('reads a stream the checkpoint covered as it is', async () => {
      expect((await guarded.readStream(S)).map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n]);
      // Events appended after the checkpoint are not held against it.
      await c.append('clinic-tail', S, 1);
      expect(await guarded.readStream(S)).toHaveLength(5);
      expect(alarms).toEqual([]);
    });

    it('refuses a stream whose signed tail was cut (events deleted, revision lowered), with an alert', async () => {
      await c.tamper(`delete from ll_events where stream_id = $1 and revision >= 2`, [S]);
      await c.tamper(`update ll_streams set revision = 1 where stream_id = $1`, [S]);
      // Without the signed checkpoint the cut is invisible: the store agrees with itself.
      expect(await c.f.ledger.readStream(S)).toHaveLength(2);

      // Each names the first revision the reader is missing.
      for (const [read, missing] of [
        [() => guarded.readStream(S), 2n],
        [() => guarded.readStream(S, { fromRevision: 3n, maxCount: 1 }), 3n],
        [() => guarded.readStream(S, { direction: 'backwards', maxCount: 10 }), 2n],
      ] as const) {
        const failure = await read().catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(IntegrityError);
        expect(failure).toMatchObject({
          failure: 'stream_truncated',
          streamId: S,
          revision: missing,
        });
      }
      expect(alarms.map((a) => a.failure)).toEqual([
        'stream_truncated',
        'stream_truncated',
        'stream_truncated',
      ]);
    });

    it('refuses a stream deleted whole', async () => {
      await c.tamper(`delete from ll_events where stream_id = $1`, [S]);
      await c.tamper(`delete from ll_streams where stream_id = $1`, [S]);
      await expect(guarded.readStream(S)).rejects.toMatchObject({
        failure: 'stream_truncated',
        revision: 0n,
      });
    });
  });
}
