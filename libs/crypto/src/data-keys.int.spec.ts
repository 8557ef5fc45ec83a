import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableDatabases, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { LocalKeyRing } from './adapters/local-key-ring.adapter';
import { DataKeyNotFoundError, DataKeyShreddedError, LegalHoldError } from './crypto.errors';
import { DataKeyCache } from './data-key-cache';
import { DataKeyStore } from './data-key-store';
import { DataKeys } from './data-keys';
import type { KekTarget, KeyContext, KeyProvider, WrappedDataKey } from './key-provider.port';
import { LegalHolds } from './legal-holds';
import { cryptoManifest } from './manifest';

/** A real provider that counts its calls, to show which operations reach it. */
class CountingProvider implements KeyProvider {
  readonly kind = 'local' as const;
  readonly calls = { generate: 0, unwrap: 0, rewrap: 0 };
  constructor(private readonly inner: KeyProvider) {}
  generateDataKey(context: KeyContext) {
    this.calls.generate++;
    return this.inner.generateDataKey(context);
  }
  unwrap(wrapped: WrappedDataKey, context: KeyContext) {
    this.calls.unwrap++;
    return this.inner.unwrap(wrapped, context);
  }
  rewrap(wrapped: WrappedDataKey, context: KeyContext, target?: KekTarget) {
    this.calls.rewrap++;
    return this.inner.rewrap(wrapped, context, target);
  }
  describeKek(tenantId: string) {
    return this.inner.describeKek(tenantId);
  }
  rotateKek(tenantId: string) {
    return this.inner.rotateKek(tenantId);
  }
  close() {
    return this.inner.close();
  }
}

const LIMITS = { maxKeys: 100, maxAgeMs: 60_000, maxUses: 1_000_000 };

describe.each(availableDatabases())('DataKeys on %s', (kind) => {
  let db: TestDatabase;
  let dir: string;
  let ring: LocalKeyRing;
  let provider: CountingProvider;
  let store: DataKeyStore;
  let holds: LegalHolds;
  let tenant: string;
  const scope = (streamId = 'conversation-1', epoch = '2026-11') => ({
    tenantId: tenant,
    streamId,
    epoch,
  });
  const context = (streamId = 'conversation-1') => ({ tenantId: tenant, streamId });
  const dataKeys = (maxEventsPerDataKey = 1_000) =>
    new DataKeys(provider, store, new DataKeyCache(LIMITS), { maxEventsPerDataKey });

  beforeAll(async () => {
    db = await openTestDatabase(kind, [cryptoManifest]);
    dir = await mkdtemp(join(tmpdir(), 'll-datakeys-'));
    ring = (
      await LocalKeyRing.open({
        file: join(dir, 'keyring.json'),
        masterSecret: randomBytes(32).toString('base64'),
        createIfMissing: true,
        scrypt: { N: 2 ** 10, r: 8, p: 1 },
      })
    ).ring;
    store = DataKeyStore.create(db.client);
    holds = LegalHolds.create(db.client);
  });
  afterAll(async () => {
    await ring?.close();
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    tenant = `tenant-${randomUUID()}`;
    provider = new CountingProvider(ring);
  });

  it('calls the provider once per new key, not per event', async () => {
    const keys = dataKeys();
    const first = await keys.sealingKey(scope());
    const rest = [];
    for (let i = 0; i < 99; i++) rest.push(await keys.sealingKey(scope()));
    expect(new Set(rest.map((k) => k.keyId))).toEqual(new Set([first.keyId]));
    expect(rest.every((k) => k.key.equals(first.key))).toBe(true);
    expect(rest[98]!.eventsUsed).toBe(100);
    expect(provider.calls).toEqual({ generate: 1, unwrap: 0, rewrap: 0 });
    expect(first.key).toHaveLength(32);
  });

  it('makes a new key once the current one has sealed maxEventsPerDataKey events', async () => {
    const keys = dataKeys(10);
    const a = await keys.sealingKey(scope(), 6);
    const b = await keys.sealingKey(scope(), 4);
    const c = await keys.sealingKey(scope(), 1);
    expect(b.keyId).toBe(a.keyId);
    expect(b.eventsUsed).toBe(10);
    expect(c.keyId).not.toBe(a.keyId);
    expect(c.key.equals(a.key)).toBe(false);
    expect(c.eventsUsed).toBe(1);
    expect(provider.calls.generate).toBe(2);
    await expect(keys.sealingKey(scope(), 11)).rejects.toThrow(/events must be/);
    // Another epoch of the same stream has keys of its own.
    expect((await keys.sealingKey(scope('conversation-1', '2026-12'))).keyId).not.toBe(c.keyId);
  });

  it('opens a key in another process (cold cache) with one unwrap, however many ask at once', async () => {
    const sealed = await dataKeys().sealingKey(scope());
    const reader = dataKeys();
    const opened = await Promise.all(
      Array.from({ length: 10 }, () => reader.openingKey(sealed.keyId, context())),
    );
    expect(opened.every((k) => k.equals(sealed.key))).toBe(true);
    await reader.openingKey(sealed.keyId, context());
    expect(provider.calls.unwrap).toBe(1);
  });

  it('refuses a key for another tenant or stream, and an unknown key', async () => {
    const sealed = await dataKeys().sealingKey(scope());
    const reader = dataKeys();
    await expect(reader.openingKey(sealed.keyId, context('conversation-2'))).rejects.toBeInstanceOf(
      DataKeyNotFoundError,
    );
    await expect(
      reader.openingKey(sealed.keyId, { tenantId: 'someone-else', streamId: 'conversation-1' }),
    ).rejects.toBeInstanceOf(DataKeyNotFoundError);
    await expect(reader.openingKey(randomUUID(), context())).rejects.toBeInstanceOf(
      DataKeyNotFoundError,
    );
  });

  it('supports a resumable rotation: rewrap, add, both wraps open, then prune', async () => {
    const writer = dataKeys();
    const sealed = [];
    for (let i = 0; i < 3; i++) sealed.push(await writer.sealingKey(scope(`stream-${i}`)));
    const rotation = await ring.rotateKek(tenant);
    const target = { kekId: rotation.kek.kekId, kekVersion: rotation.kek.currentVersion };

    // One page, then "crash", then resume from the cursor.
    const page = await store.listByTenant(tenant, { limit: 1, notWrappedUnder: target });
    for (const key of page) {
      const ctx = { tenantId: key.tenantId, streamId: key.streamId };
      await store.addWrap(key.keyId, await provider.rewrap(key.wraps[0]!, ctx, target));
    }
    const rest = await store.listByTenant(tenant, {
      afterKeyId: page[0]!.keyId,
      limit: 100,
      notWrappedUnder: target,
    });
    expect(rest).toHaveLength(2);
    for (const key of rest) {
      const ctx = { tenantId: key.tenantId, streamId: key.streamId };
      await store.addWrap(key.keyId, await provider.rewrap(key.wraps[0]!, ctx, target));
    }
    expect(await store.listByTenant(tenant, { limit: 100, notWrappedUnder: target })).toEqual([]);
    expect((await store.countByKekVersion(tenant)).map((u) => [u.kekVersion, u.keys])).toEqual([
      ['1', 3],
      ['2', 3],
    ]);

    for (const [i, s] of sealed.entries()) {
      const key = (await store.getKey(s.keyId))!;
      expect(key.wraps[0]!.kekVersion).toBe('2');
      expect((await dataKeys().openingKey(s.keyId, context(`stream-${i}`))).equals(s.key)).toBe(
        true,
      );
      await store.removeWrapsExcept(s.keyId, target);
      expect((await dataKeys().openingKey(s.keyId, context(`stream-${i}`))).equals(s.key)).toBe(
        true,
      );
    }
    // New keys are wrapped under the new version.
    const fresh = await writer.sealingKey(scope('stream-new'));
    expect((await store.getKey(fresh.keyId))!.wraps[0]!.kekVersion).toBe('2');
  });

  it('shreds: cached or not, the key no longer opens; new events get a new key', async () => {
    const keys = dataKeys();
    const sealed = await keys.sealingKey(scope());
    expect((await keys.openingKey(sealed.keyId, context())).equals(sealed.key)).toBe(true);

    const result = await keys.shred({ tenantId: tenant, streamId: 'conversation-1' });
    expect(result).toEqual({ keyIds: [sealed.keyId], wrapsDeleted: 1 });
    await expect(keys.openingKey(sealed.keyId, context())).rejects.toBeInstanceOf(
      DataKeyShreddedError,
    );
    await expect(dataKeys().openingKey(sealed.keyId, context())).rejects.toThrow(/was shredded at/);
    const next = await keys.sealingKey(scope());
    expect(next.keyId).not.toBe(sealed.keyId);
  });

  it('leaves everything readable when a legal hold refuses the shred', async () => {
    const keys = dataKeys();
    const sealed = await keys.sealingKey(scope());
    await holds.add({ tenantId: tenant, streamPrefix: 'conversation-', placedBy: 'operator:t' });
    await expect(
      keys.shred({ tenantId: tenant, streamId: 'conversation-1' }),
    ).rejects.toBeInstanceOf(LegalHoldError);
    expect((await keys.openingKey(sealed.keyId, context())).equals(sealed.key)).toBe(true);
    expect((await dataKeys().openingKey(sealed.keyId, context())).equals(sealed.key)).toBe(true);
  });

  it('agrees on one key when many sealers start a stream at once', async () => {
    const sealers = Array.from({ length: 5 }, () => dataKeys());
    const keys = await Promise.all(sealers.map((s) => s.sealingKey(scope('busy'))));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
    expect(keys.every((k) => k.key.equals(keys[0]!.key))).toBe(true);
    // Each sealer reserved a block of uses: the count runs ahead of the events, never behind.
    expect((await store.currentKey(scope('busy')))!.eventsUsed).toBe(5 * 128);
  });

  it('reserves uses in blocks: a hundred seals cost one reservation, counted ahead of use', async () => {
    let reservations = 0;
    const counting = Object.create(store) as DataKeyStore;
    counting.reserveUses = (...args) => {
      reservations += 1;
      return store.reserveUses(...args);
    };
    const keys = new DataKeys(provider, counting, new DataKeyCache(LIMITS), {
      maxEventsPerDataKey: 1_000,
      reservationBlock: 50,
    });
    const sealed = [];
    for (let i = 0; i < 100; i++) sealed.push(await keys.sealingKey(scope('blocks')));
    expect(sealed.map((k) => k.eventsUsed)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // One reservation for the first block (the key was new: inserted with its block), one more.
    expect(reservations).toBe(2);
    expect((await store.currentKey(scope('blocks')))!.eventsUsed).toBe(100);
    // A shred drops the block: the next seal makes a new key instead of using the shredded one.
    await keys.shred({ tenantId: tenant, streamId: 'blocks' });
    expect((await keys.sealingKey(scope('blocks'))).keyId).not.toBe(sealed[0]!.keyId);
  });
});
