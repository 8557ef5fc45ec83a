import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableDatabases, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { AwsKmsKeyProvider } from './adapters/aws-kms-key-provider.adapter';
import { LocalKeyRing } from './adapters/local-key-ring.adapter';
import { KekNotFoundError } from './crypto.errors';
import { CurrentKekKeyProvider, FIRST_USE } from './current-kek-key-provider';
import { DataKeyCache } from './data-key-cache';
import { DataKeyStore } from './data-key-store';
import { DataKeys } from './data-keys';
import type { KeyProvider } from './key-provider.port';
import { rotateTenantKeys } from './key-rotation';
import { TenantKeks } from './tenant-keks';
import { KmsLocalEndpoint } from './testing/kms-local-endpoint';
import { cryptoManifest } from './manifest';

// The current KEK of a tenant lives in the database, and every process wraps new data keys under
// it: a node whose configuration (or whose view of the key ring file) still names the old KEK
// follows a rotation made elsewhere at once.

const LIMITS = { maxKeys: 100, maxAgeMs: 300_000, maxUses: 1_000_000 };

describe.each(availableDatabases())('the current KEK, recorded in the database (%s)', (kind) => {
  let db: TestDatabase;
  let store: DataKeyStore;
  let keks: TenantKeks;
  let tenant: string;

  beforeAll(async () => {
    db = await openTestDatabase(kind, [cryptoManifest]);
    store = DataKeyStore.create(db.client);
    keks = TenantKeks.create(db.client);
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    tenant = `tenant-${randomUUID()}`;
  });

  const dataKeys = (provider: KeyProvider) =>
    new DataKeys(new CurrentKekKeyProvider(provider, keks), store, new DataKeyCache(LIMITS), {
      maxEventsPerDataKey: 1_000,
    });
  const kekOf = async (keyId: string) => {
    const record = await store.getKey(keyId);
    return record!.wraps.map((w) => [w.kekId, w.kekVersion]);
  };

  describe('AWS KMS (the local KMS endpoint)', () => {
    let kms: KmsLocalEndpoint;
    beforeAll(async () => {
      kms = await KmsLocalEndpoint.start();
    });
    afterAll(async () => {
      await kms?.stop();
    });
    const kmsProvider = (key: string) =>
      new AwsKmsKeyProvider({
        region: kms.region,
        endpoint: kms.url,
        credentials: kms.credentials,
        tenantKeys: new Map([[tenant, key]]),
        maxAttempts: 2,
        retryBaseDelayMs: 5,
      });

    it('a node configured with the old key wraps new data keys under the key the rotation recorded', async () => {
      const oldKey = kms.createKey();
      const newKey = kms.createKey();
      const server = kmsProvider(oldKey.arn); // never reconfigured
      const operator = kmsProvider(newKey.arn); // the CLI, configured with the new key
      const node = dataKeys(server);

      const first = await node.sealingKey({ tenantId: tenant, streamId: 's-1', epoch: '2026-12' });
      first.key.fill(0);
      expect(await keks.current(tenant)).toMatchObject({
        kekId: oldKey.arn,
        kekVersion: oldKey.arn,
        recordedBy: FIRST_USE,
      });

      const rotation = await rotateTenantKeys(
        new CurrentKekKeyProvider(operator, keks),
        store,
        tenant,
        { keks, recordedBy: 'operator:test' },
      );
      // The first rotation to a new key is a rotation, not "an interrupted one finished".
      expect(rotation).toMatchObject({
        outcome: 'rotated',
        newVersion: true,
        kekId: newKey.arn,
        rewrapped: 1,
        pruned: 1,
      });
      expect(await keks.current(tenant)).toMatchObject({
        kekId: newKey.arn,
        recordedBy: 'operator:test',
      });

      const later = await node.sealingKey({ tenantId: tenant, streamId: 's-2', epoch: '2026-12' });
      later.key.fill(0);
      expect(await kekOf(later.keyId)).toEqual([[newKey.arn, newKey.arn]]);
      expect(await kekOf(first.keyId)).toEqual([[newKey.arn, newKey.arn]]);
      expect((await store.countByKekVersion(tenant)).map((u) => u.kekId)).toEqual([newKey.arn]);
      // Both still open on the node that was never told about the new key.
      const fresh = dataKeys(server);
      for (const keyId of [first.keyId, later.keyId]) {
        const streamId = keyId === first.keyId ? 's-1' : 's-2';
        (await fresh.openingKey(keyId, { tenantId: tenant, streamId })).fill(0);
      }

      // Rotating again with the same KMS key changes nothing and says so.
      const again = await rotateTenantKeys(operator, store, tenant, { keks });
      expect(again).toMatchObject({ outcome: 'unchanged', newVersion: false, rewrapped: 0 });
      expect(await keks.history(tenant)).toHaveLength(2);
      await server.close();
      await operator.close();
    });
  });

  describe('the local key ring', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'll-tenant-keks-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('a node that has not re-read the ring file still wraps under the version the rotation recorded; an old version retires once nothing is wrapped under it', async () => {
      const file = join(dir, `${tenant}.json`);
      const masterSecret = randomBytes(32).toString('base64');
      const open = (refreshIntervalMs: number) =>
        LocalKeyRing.open({
          file,
          masterSecret,
          createIfMissing: true,
          refreshIntervalMs,
          scrypt: { N: 2 ** 10, r: 8, p: 1 },
        }).then((o) => o.ring);
      const server = await open(3_600_000); // would not notice a new version for an hour
      const operator = await open(0);
      const node = dataKeys(server);

      const first = await node.sealingKey({ tenantId: tenant, streamId: 's-1', epoch: '2026-12' });
      first.key.fill(0);
      const kekId = (await keks.current(tenant))!.kekId;
      const rotation = await rotateTenantKeys(operator, store, tenant, { keks });
      expect(rotation).toMatchObject({ outcome: 'rotated', toVersion: '2', rewrapped: 1 });

      const later = await node.sealingKey({ tenantId: tenant, streamId: 's-2', epoch: '2026-12' });
      later.key.fill(0);
      expect(await kekOf(later.keyId)).toEqual([[kekId, '2']]);

      // Version 1 is not current and wraps nothing: it can go; the current one cannot.
      await expect(operator.retireKekVersion(tenant, '2')).rejects.toThrow(/current version/);
      await operator.retireKekVersion(tenant, '1');
      expect((await operator.describeKek(tenant)).versions).toEqual(['2']);
      const reopened = await open(0);
      expect((await reopened.describeKek(tenant)).versions).toEqual(['2']);
      await expect(operator.retireKekVersion(tenant, '1')).rejects.toBeInstanceOf(KekNotFoundError);
      // What version 1 wrapped (a backup's copy, say) never opens again.
      const stale = await operator.generateDataKey(
        { tenantId: tenant, streamId: 's-3' },
        { kekId, kekVersion: '2' },
      );
      stale.plaintext.fill(0);
      await expect(
        reopened.unwrap(
          { ...stale.wrapped, kekVersion: '1' },
          { tenantId: tenant, streamId: 's-3' },
        ),
      ).rejects.toBeInstanceOf(KekNotFoundError);
      for (const ring of [server, operator, reopened]) await ring.close();
    });
  });
});
