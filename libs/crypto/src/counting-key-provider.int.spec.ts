import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '@ledgerline/metrics';
import { openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { LocalKeyRing } from './adapters/local-key-ring.adapter';
import { CountingDataKeyCache, countingKeyProvider } from './counting-key-provider';
import { KeyUnwrapError } from './crypto.errors';
import { DataKeyStore } from './data-key-store';
import { DataKeys } from './data-keys';
import { cryptoManifest } from './manifest';

async function value(metrics: Metrics, name: string, labels: Record<string, string>) {
  const { values } = await metrics.registry.getSingleMetric(name)!.get();
  const found = values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return found?.value ?? 0;
}

const LIMITS = { maxKeys: 100, maxAgeMs: 60_000, maxUses: 1_000_000 };

// The real key ring and data-key store on the embedded database, decorated for metrics: what the
// counters say is what reached the KeyProvider and the cache.
describe('counting KeyProvider and data-key cache', () => {
  let db: TestDatabase;
  let dir: string;
  let ring: LocalKeyRing;
  let store: DataKeyStore;
  const tenant = `tenant-${randomUUID()}`;

  beforeAll(async () => {
    db = await openTestDatabase('pglite', [cryptoManifest]);
    dir = await mkdtemp(join(tmpdir(), 'll-counting-keys-'));
    ring = (
      await LocalKeyRing.open({
        file: join(dir, 'keyring.json'),
        masterSecret: randomBytes(32).toString('base64'),
        createIfMissing: true,
        scrypt: { N: 2 ** 10, r: 8, p: 1 },
      })
    ).ring;
    store = DataKeyStore.create(db.client);
  }, 120_000);
  afterAll(async () => {
    await ring?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts generate and unwrap calls and cache hits and misses as DataKeys makes them', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const provider = countingKeyProvider(ring, metrics);
    expect(provider.kind).toBe('local');
    const sealer = new DataKeys(provider, store, new CountingDataKeyCache(LIMITS, metrics), {
      maxEventsPerDataKey: 1_000,
    });
    const scope = { tenantId: tenant, streamId: 'conversation-1', epoch: '2026-12' };
    const context = { tenantId: tenant, streamId: 'conversation-1' };
    const first = await sealer.sealingKey(scope);
    await sealer.sealingKey(scope);
    await sealer.openingKey(first.keyId, context);
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'generate',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'unwrap',
        outcome: 'ok',
      }),
    ).toBe(0);
    // Each seal takes the key from the cache (the new key was cached when it was made), and so
    // does the open: three hits, no miss.
    expect(await value(metrics, 'ledgerline_data_key_cache_lookups_total', { result: 'hit' })).toBe(
      3,
    );

    // A fresh process: an empty cache, so opening the key unwraps it once, however often it is asked.
    const opener = new DataKeys(provider, store, new CountingDataKeyCache(LIMITS, metrics), {
      maxEventsPerDataKey: 1_000,
    });
    const keys = await Promise.all([1, 2, 3].map(() => opener.openingKey(first.keyId, context)));
    expect(keys.every((k) => k.equals(first.key))).toBe(true);
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'unwrap',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      await value(metrics, 'ledgerline_data_key_cache_lookups_total', { result: 'miss' }),
    ).toBeGreaterThan(0);
    const hitsBefore = await value(metrics, 'ledgerline_data_key_cache_lookups_total', {
      result: 'hit',
    });
    await opener.openingKey(first.keyId, context);
    expect(await value(metrics, 'ledgerline_data_key_cache_lookups_total', { result: 'hit' })).toBe(
      hitsBefore + 1,
    );
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'unwrap',
        outcome: 'ok',
      }),
    ).toBe(1);
  });

  it('counts a failed call as an error and passes the error on unchanged', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const provider = countingKeyProvider(ring, metrics);
    const generated = await provider.generateDataKey({ tenantId: tenant, streamId: 's-1' });
    await expect(
      provider.unwrap(generated.wrapped, { tenantId: tenant, streamId: 's-2' }),
    ).rejects.toBeInstanceOf(KeyUnwrapError);
    const rewrapped = await provider.rewrap(generated.wrapped, {
      tenantId: tenant,
      streamId: 's-1',
    });
    expect(
      (await provider.unwrap(rewrapped, { tenantId: tenant, streamId: 's-1' })).equals(
        generated.plaintext,
      ),
    ).toBe(true);
    await provider.describeKek(tenant);
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'unwrap',
        outcome: 'error',
      }),
    ).toBe(1);
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'unwrap',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'rewrap',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      await value(metrics, 'ledgerline_key_provider_calls_total', {
        operation: 'describe',
        outcome: 'ok',
      }),
    ).toBe(1);
    const text = await metrics.text();
    expect(text).not.toContain(tenant);
  });
});
