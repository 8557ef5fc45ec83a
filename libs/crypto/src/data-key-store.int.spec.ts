import { randomBytes } from 'node:crypto';
import { uuidV7Generator } from '@ledgerline/kernel';
import { availableDatabases, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { DataKeyNotFoundError, DataKeyShreddedError, LegalHoldError } from './crypto.errors';
import { DataKeyStore, type DataKeyScope } from './data-key-store';
import type { WrappedDataKey } from './key-provider.port';
import { LegalHolds } from './legal-holds';
import { cryptoManifest } from './manifest';

const wrap = (kekVersion = '1', kekId = 'kek-a'): WrappedDataKey => ({
  kekId,
  kekVersion,
  blob: randomBytes(61),
});
const newId = () => uuidV7Generator.next();

const OP = 'operator:test';

describe.each(availableDatabases())('DataKeyStore on %s', (kind) => {
  let db: TestDatabase;
  let store: DataKeyStore;
  let holds: LegalHolds;
  let tenant: string;
  const scope = (streamId = 'conversation-1', epoch = '2026-11'): DataKeyScope => ({
    tenantId: tenant,
    streamId,
    epoch,
  });

  beforeAll(async () => {
    db = await openTestDatabase(kind, [cryptoManifest]);
    store = DataKeyStore.create(db.client);
    holds = LegalHolds.create(db.client);
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    tenant = `tenant-${newId()}`;
  });

  describe('keys and reservations', () => {
    it('inserts a key with its wrap and serves it as the current key, by id, with its count', async () => {
      const keyId = newId();
      const w = wrap();
      const { record, inserted } = await store.insertKey({
        keyId,
        scope: scope(),
        wrapped: w,
        uses: 3,
        maxUses: 10,
      });
      expect(inserted).toBe(true);
      expect(record).toMatchObject({ keyId, ...scope(), eventsUsed: 3 });
      expect(record.wraps).toHaveLength(1);
      expect(Buffer.from(record.wraps[0]!.blob).equals(Buffer.from(w.blob))).toBe(true);
      expect((await store.currentKey(scope()))?.keyId).toBe(keyId);
      expect(await store.getKey(keyId)).toEqual(record);
      expect(await store.getKey(newId())).toBeUndefined();
      expect(await store.getKey('not-a-uuid')).toBeUndefined();
      expect(await store.currentKey(scope('conversation-1', '2026-12'))).toBeUndefined();
    });

    it('reserves uses atomically and never past maxUses, even under concurrency', async () => {
      await store.insertKey({
        keyId: newId(),
        scope: scope(),
        wrapped: wrap(),
        uses: 1,
        maxUses: 20,
      });
      const results = await Promise.all(
        Array.from({ length: 30 }, () => store.reserveUses(scope(), 1, 20)),
      );
      const granted = results.filter((r) => r !== undefined);
      expect(granted).toHaveLength(19);
      expect(new Set(granted.map((r) => r.eventsUsed)).size).toBe(19);
      expect((await store.currentKey(scope()))?.eventsUsed).toBe(20);
      expect(await store.reserveUses(scope(), 1, 20)).toBeUndefined();
      // A larger limit (configuration changed) lets the same key go on.
      expect((await store.reserveUses(scope(), 5, 30))?.eventsUsed).toBe(25);
    });

    it('retires a used-up key when a new one is inserted, keeping one active key per scope', async () => {
      const first = newId();
      await store.insertKey({ keyId: first, scope: scope(), wrapped: wrap(), uses: 5, maxUses: 5 });
      expect(await store.reserveUses(scope(), 1, 5)).toBeUndefined();
      const second = newId();
      const { record, inserted } = await store.insertKey({
        keyId: second,
        scope: scope(),
        wrapped: wrap(),
        uses: 2,
        maxUses: 5,
      });
      expect(inserted).toBe(true);
      expect(record.eventsUsed).toBe(2);
      expect((await store.getKey(first))?.retiredAt).toBeInstanceOf(Date);
      expect((await store.currentKey(scope()))?.keyId).toBe(second);
      expect(await store.countKeys(tenant)).toEqual({
        active: 1,
        retired: 1,
        shredded: 0,
        withoutWraps: 0,
      });
    });

    it('lets concurrent installers agree on one key: the losers reserve on the winner', async () => {
      const attempts = await Promise.all(
        Array.from({ length: 6 }, () =>
          store.insertKey({
            keyId: newId(),
            scope: scope(),
            wrapped: wrap(),
            uses: 1,
            maxUses: 100,
          }),
        ),
      );
      expect(attempts.filter((a) => a.inserted)).toHaveLength(1);
      expect(new Set(attempts.map((a) => a.record.keyId)).size).toBe(1);
      expect((await store.currentKey(scope()))?.eventsUsed).toBe(6);
      expect((await store.countKeys(tenant)).active).toBe(1);
    });

    it('refuses out-of-range uses and malformed input before touching the database', async () => {
      await expect(store.reserveUses(scope(), 0, 10)).rejects.toThrow(/uses must be/);
      await expect(store.reserveUses(scope(), 11, 10)).rejects.toThrow(/uses must be/);
      await expect(store.reserveUses({ ...scope(), epoch: '' }, 1, 10)).rejects.toThrow(/epoch/);
      await expect(
        store.insertKey({ keyId: 'x', scope: scope(), wrapped: wrap(), uses: 1, maxUses: 1 }),
      ).rejects.toThrow(/keyId must be a UUID/);
    });
  });

  describe('wraps and rotation', () => {
    it('keeps old and new wraps side by side, then swaps or prunes them in one step', async () => {
      const keyId = newId();
      await store.insertKey({ keyId, scope: scope(), wrapped: wrap('1'), uses: 1, maxUses: 10 });
      await store.addWrap(keyId, wrap('2'));
      expect((await store.getKey(keyId))?.wraps.map((w) => w.kekVersion).sort()).toEqual([
        '1',
        '2',
      ]);

      await expect(
        store.removeWrapsExcept(keyId, { kekId: 'kek-a', kekVersion: '9' }),
      ).rejects.toThrow(/no wrap under KEK kek-a version 9/);
      expect((await store.getKey(keyId))?.wraps).toHaveLength(2);

      expect(await store.removeWrapsExcept(keyId, { kekId: 'kek-a', kekVersion: '2' })).toEqual({
        removed: 1,
      });
      expect(await store.replaceWrap(keyId, wrap('3'))).toEqual({ removed: 1 });
      expect((await store.getKey(keyId))?.wraps.map((w) => w.kekVersion)).toEqual(['3']);
      await expect(store.addWrap(newId(), wrap('3'))).rejects.toBeInstanceOf(DataKeyNotFoundError);
    });

    it('lists a tenant keys in key id order, resumably, skipping those already under the target', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const keyId = newId();
        ids.push(keyId);
        await store.insertKey({
          keyId,
          scope: scope(`stream-${i}`),
          wrapped: wrap('1'),
          uses: 1,
          maxUses: 10,
        });
      }
      ids.sort();
      const target = { kekId: 'kek-a', kekVersion: '2' };
      await store.addWrap(ids[1]!, wrap('2'));

      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listByTenant(tenant, {
          afterKeyId: after,
          limit: 2,
          notWrappedUnder: target,
        });
        if (page.length === 0) break;
        for (const key of page) {
          seen.push(key.keyId);
          await store.addWrap(key.keyId, wrap('2'));
        }
        after = page[page.length - 1]!.keyId;
      }
      expect(seen).toEqual([ids[0], ids[2], ids[3], ids[4]]);
      expect(await store.listByTenant(tenant, { limit: 10, notWrappedUnder: target })).toEqual([]);
      expect((await store.listByTenant(tenant, { limit: 10 })).map((k) => k.keyId)).toEqual(ids);
      expect(await store.countByKekVersion(tenant)).toEqual([
        { tenantId: tenant, kekId: 'kek-a', kekVersion: '1', keys: 5 },
        { tenantId: tenant, kekId: 'kek-a', kekVersion: '2', keys: 5 },
      ]);
    });
  });

  describe('shredding and legal holds', () => {
    it('destroys every wrap of the stream epoch, for good, and leaves other epochs and streams alone', async () => {
      const november = newId();
      const december = newId();
      const other = newId();
      await store.insertKey({
        keyId: november,
        scope: scope(),
        wrapped: wrap('1'),
        uses: 1,
        maxUses: 10,
      });
      await store.addWrap(november, wrap('2'));
      await store.insertKey({
        keyId: december,
        scope: scope('conversation-1', '2026-12'),
        wrapped: wrap(),
        uses: 1,
        maxUses: 10,
      });
      await store.insertKey({
        keyId: other,
        scope: scope('conversation-2'),
        wrapped: wrap(),
        uses: 1,
        maxUses: 10,
      });

      const result = await store.shred({
        tenantId: tenant,
        streamId: 'conversation-1',
        epoch: '2026-11',
      });
      expect(result).toEqual({ keyIds: [november], wrapsDeleted: 2 });
      const shredded = await store.getKey(november);
      expect(shredded?.shreddedAt).toBeInstanceOf(Date);
      expect(shredded?.wraps).toEqual([]);
      expect((await store.getKey(december))?.wraps).toHaveLength(1);
      expect((await store.getKey(other))?.wraps).toHaveLength(1);

      expect(await store.reserveUses(scope(), 1, 10)).toBeUndefined();
      await expect(store.addWrap(november, wrap('3'))).rejects.toBeInstanceOf(DataKeyShreddedError);
      expect(await store.listByTenant(tenant, { limit: 10 })).toHaveLength(2);
      expect(
        await store.shred({ tenantId: tenant, streamId: 'conversation-1', epoch: '2026-11' }),
      ).toEqual({
        keyIds: [],
        wrapsDeleted: 0,
      });
      // The database itself refuses to give a shredded key a wrap or to un-shred it.
      await expect(
        db.client.query(
          `insert into ll_data_key_wraps (key_id, kek_id, kek_version, wrapped) values ($1, 'k', '1', '\\x00')`,
          [november],
        ),
      ).rejects.toMatchObject({ sqlState: 'LL410' });
      await expect(
        db.client.query('update ll_data_keys set shredded_at = null where key_id = $1', [november]),
      ).rejects.toMatchObject({ sqlState: 'LL410' });

      const all = await store.shred({ tenantId: tenant, streamId: 'conversation-1' });
      expect(all).toEqual({ keyIds: [december], wrapsDeleted: 1 });
      expect(await store.countKeys(tenant)).toMatchObject({ shredded: 2, withoutWraps: 0 });
    });

    it('refuses to shred what an active hold covers, by stream or prefix, and names the holds only by id', async () => {
      const keyId = newId();
      await store.insertKey({
        keyId,
        scope: scope('patient-7/chat'),
        wrapped: wrap(),
        uses: 1,
        maxUses: 10,
      });
      const exact = await holds.add({ tenantId: tenant, streamId: 'patient-7/chat', placedBy: OP });
      const prefix = await holds.add({
        tenantId: tenant,
        streamPrefix: 'patient-7/',
        placedBy: OP,
      });
      await holds.add({ tenantId: `${tenant}-other`, streamPrefix: '', placedBy: OP });
      await holds.add({ tenantId: tenant, streamId: 'patient-8/chat', placedBy: OP });

      const error = await store
        .shred({ tenantId: tenant, streamId: 'patient-7/chat' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LegalHoldError);
      expect((error as LegalHoldError).holdIds).toEqual([exact.holdId, prefix.holdId]);
      expect((await store.getKey(keyId))?.wraps).toHaveLength(1);

      expect((await holds.listActive(tenant, 'patient-7/chat')).map((h) => h.holdId)).toEqual([
        exact.holdId,
        prefix.holdId,
      ]);
      expect(await holds.listActive(tenant)).toHaveLength(3);

      expect(await holds.release(`${tenant}-other`, exact.holdId, OP)).toBeUndefined();
      await holds.release(tenant, exact.holdId, OP);
      await expect(
        store.shred({ tenantId: tenant, streamId: 'patient-7/chat' }),
      ).rejects.toBeInstanceOf(LegalHoldError);
      const released = await holds.release(tenant, prefix.holdId, 'operator:other');
      expect(released).toMatchObject({ releasedBy: 'operator:other', placedBy: OP });
      expect(released?.releasedAt).toBeInstanceOf(Date);
      // Released once: a second release finds no active hold, and the first one's record stays.
      expect(await holds.release(tenant, prefix.holdId, OP)).toBeUndefined();
      expect(await holds.get(prefix.holdId)).toEqual(released);
      expect(await holds.get(exact.holdId)).toMatchObject({ streamId: 'patient-7/chat' });
      expect((await store.shred({ tenantId: tenant, streamId: 'patient-7/chat' })).keyIds).toEqual([
        keyId,
      ]);
    });

    it('never leaves a wrap behind when a rotation races a shred', async () => {
      for (let i = 0; i < 10; i++) {
        const keyId = newId();
        const s = scope(`race-${i}`);
        await store.insertKey({ keyId, scope: s, wrapped: wrap('1'), uses: 1, maxUses: 10 });
        const [added, shredded] = await Promise.allSettled([
          store.addWrap(keyId, wrap('2')),
          store.shred({ tenantId: tenant, streamId: s.streamId }),
        ]);
        expect(shredded.status).toBe('fulfilled');
        if (added.status === 'rejected') expect(added.reason).toBeInstanceOf(DataKeyShreddedError);
        expect((await store.getKey(keyId))?.wraps).toEqual([]);
      }
    });

    it('a whole-tenant hold (empty prefix) covers every stream', async () => {
      await holds.add({ tenantId: tenant, streamPrefix: '', placedBy: OP });
      await expect(store.shred({ tenantId: tenant, streamId: 'anything' })).rejects.toBeInstanceOf(
        LegalHoldError,
      );
    });

    it('validates holds', async () => {
      await expect(
        holds.add({ tenantId: tenant, streamId: 's', streamPrefix: 'p', placedBy: OP } as never),
      ).rejects.toThrow(/either a streamId or a streamPrefix/);
      await expect(holds.add({ tenantId: tenant, streamId: 's', placedBy: '' })).rejects.toThrow(
        /placedBy/,
      );
      expect(await holds.release(tenant, 'nope', OP)).toBeUndefined();
    });

    it('keeps every hold: no DELETE, no TRUNCATE, no rewriting a scope or un-releasing (the database refuses)', async () => {
      const hold = await holds.add({ tenantId: tenant, streamId: 'patient-9/chat', placedBy: OP });
      await holds.release(tenant, hold.holdId, OP);
      for (const sql of [
        'delete from ll_legal_holds where hold_id = $1',
        `update ll_legal_holds set stream_id = 'other' where hold_id = $1`,
        'update ll_legal_holds set released_at = null, released_by = null where hold_id = $1',
        `update ll_legal_holds set released_by = 'mallory' where hold_id = $1`,
        `update ll_legal_holds set reason = 'rewritten' where hold_id = $1`,
      ]) {
        await expect(db.client.query(sql, [hold.holdId])).rejects.toMatchObject({
          sqlState: 'LL409',
        });
      }
      await expect(db.client.exec('truncate ll_legal_holds')).rejects.toMatchObject({
        sqlState: 'LL409',
      });
      expect(await holds.get(hold.holdId)).toMatchObject({ releasedBy: OP });
    });
  });
});
