import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PostgresSqlClient, type SqlClient } from '@ledgerline/database';
import {
  availableDatabases,
  describeWhenEnv,
  openTestDatabase,
  type TestDatabase,
} from '@ledgerline/testing';
import { LocalKeyRing } from './adapters/local-key-ring.adapter';
import { DataKeyShreddedError } from './crypto.errors';
import { DataKeyCache } from './data-key-cache';
import { DataKeyStore } from './data-key-store';
import { DataKeys } from './data-keys';
import { KeyInvalidations, parseKeyInvalidation, type KeyInvalidation } from './key-invalidation';
import type { KeyContext, KeyProvider, WrappedDataKey } from './key-provider.port';
import { cryptoManifest } from './manifest';

// A shred must reach every process's key cache within a second, through PostgreSQL
// notifications: here each "process" is its own SqlClient, DataKeyCache, DataKeys and
// KeyInvalidations on one database (PostgreSQL), or the one process of PGlite.

const LIMITS = { maxKeys: 100, maxAgeMs: 300_000, maxUses: 1_000_000 };

/** Collects what a subscriber is told, and waits for a matching one. */
class Heard {
  readonly all: KeyInvalidation[] = [];
  private waiters: (() => void)[] = [];
  readonly fn = (i: KeyInvalidation) => {
    this.all.push(i);
    for (const w of this.waiters) w();
  };
  async until(match: (i: KeyInvalidation) => boolean): Promise<KeyInvalidation> {
    for (;;) {
      const found = this.all.find(match);
      if (found) return found;
      await new Promise<void>((r) => this.waiters.push(r));
      this.waiters = [];
    }
  }
}

/** A real key ring whose unwraps can be held, to put a lookup in flight across a shred. */
class GatedProvider implements KeyProvider {
  readonly kind = 'local' as const;
  gate: Promise<void> | undefined;
  unwraps = 0;
  constructor(private readonly inner: KeyProvider) {}
  generateDataKey(context: KeyContext) {
    return this.inner.generateDataKey(context);
  }
  async unwrap(wrapped: WrappedDataKey, context: KeyContext) {
    this.unwraps += 1;
    const key = await this.inner.unwrap(wrapped, context);
    await this.gate;
    return key;
  }
  rewrap(...args: Parameters<KeyProvider['rewrap']>) {
    return this.inner.rewrap(...args);
  }
  describeKek(tenantId: string) {
    return this.inner.describeKek(tenantId);
  }
  rotateKek(tenantId: string) {
    return this.inner.rotateKek(tenantId);
  }
  close() {
    return Promise.resolve();
  }
}

interface Node {
  readonly client: SqlClient;
  readonly cache: DataKeyCache;
  readonly keys: DataKeys;
  readonly invalidations: KeyInvalidations;
  readonly heard: Heard;
}

async function node(client: SqlClient, provider: KeyProvider): Promise<Node> {
  const cache = new DataKeyCache(LIMITS);
  const keys = new DataKeys(provider, DataKeyStore.create(client), cache, {
    maxEventsPerDataKey: 1_000,
  });
  const invalidations = new KeyInvalidations(client, keys);
  const heard = new Heard();
  invalidations.subscribe(heard.fn);
  await invalidations.start();
  return { client, cache, keys, invalidations, heard };
}

describe('parseKeyInvalidation', () => {
  it('reads the two payloads the channel carries and nothing else', () => {
    expect(parseKeyInvalidation('{"v":1,"k":"keys","t":"t1","s":"s1","ids":["a","b"]}')).toEqual({
      kind: 'keys',
      tenantId: 't1',
      streamId: 's1',
      keyIds: ['a', 'b'],
    });
    expect(parseKeyInvalidation('{"v":1,"k":"tenant","t":"t1"}')).toEqual({
      kind: 'tenant',
      tenantId: 't1',
    });
    for (const bad of [
      '',
      'null',
      '{"v":2,"k":"tenant","t":"t1"}',
      '{"v":1,"k":"keys","t":"t1","s":"s1","ids":[1]}',
      '{"v":1,"k":"keys","t":"t1","ids":[]}',
      '{"v":1,"k":"other","t":"t1"}',
    ]) {
      expect(parseKeyInvalidation(bad)).toBeUndefined();
    }
  });
});

describe.each(availableDatabases())('KeyInvalidations on %s', (kind) => {
  let db: TestDatabase;
  let dir: string;
  let ring: LocalKeyRing;
  let tenant: string;
  const nodes: Node[] = [];
  const extraClients: SqlClient[] = [];

  beforeAll(async () => {
    db = await openTestDatabase(kind, [cryptoManifest]);
    dir = await mkdtemp(join(tmpdir(), 'll-key-invalidation-'));
    ring = (
      await LocalKeyRing.open({
        file: join(dir, 'keyring.json'),
        masterSecret: randomBytes(32).toString('base64'),
        createIfMissing: true,
        scrypt: { N: 2 ** 10, r: 8, p: 1 },
      })
    ).ring;
  });
  afterAll(async () => {
    for (const n of nodes) await n.invalidations.stop();
    for (const c of extraClients) await c.close();
    await ring?.close();
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    tenant = `tenant-${randomUUID()}`;
  });

  /** A second "process" on the same database: its own connections on PostgreSQL. */
  async function otherClient(): Promise<SqlClient> {
    if (kind === 'pglite') return db.client;
    const client = await PostgresSqlClient.connect({ connectionString: db.url!, poolSize: 4 });
    extraClients.push(client);
    return client;
  }

  it('a shred committed through the store reaches every process: cached keys are dropped, subscribers told, the key no longer opens', async () => {
    const provider = new GatedProvider(ring);
    const reader = await node(await otherClient(), provider);
    nodes.push(reader);
    const shredder = DataKeyStore.create(db.client);
    const streamId = 'conversation:x:1';
    const context = { tenantId: tenant, streamId };
    const sealing = await reader.keys.sealingKey({ ...context, epoch: '2026-12' });
    sealing.key.fill(0);
    (await reader.keys.openingKey(sealing.keyId, context)).fill(0);
    expect(reader.cache.size).toBeGreaterThan(0);
    const unwrapsBefore = provider.unwraps;

    // Another process shreds with nothing but SQL: no call reaches the reader.
    const shredded = await shredder.shred(context);
    expect(shredded.keyIds).toEqual([sealing.keyId]);
    const heard = await reader.heard.until((i) => i.kind === 'keys' && i.tenantId === tenant);
    expect(heard).toEqual({ kind: 'keys', tenantId: tenant, streamId, keyIds: [sealing.keyId] });

    await expect(reader.keys.openingKey(sealing.keyId, context)).rejects.toBeInstanceOf(
      DataKeyShreddedError,
    );
    expect(provider.unwraps).toBe(unwrapsBefore);
  });

  it('a lookup under way when the shred arrives does not cache the key again', async () => {
    const provider = new GatedProvider(ring);
    const reader = await node(await otherClient(), provider);
    nodes.push(reader);
    const shredder = DataKeyStore.create(db.client);
    const streamId = 'conversation:x:2';
    const context = { tenantId: tenant, streamId };
    const sealing = await reader.keys.sealingKey({ ...context, epoch: '2026-12' });
    sealing.key.fill(0);
    reader.keys.forgetAll();

    // The lookup read the key's wraps and is unwrapping when the shred commits and arrives.
    let release!: () => void;
    provider.gate = new Promise<void>((r) => (release = r));
    const unwrapsBefore = provider.unwraps;
    const inFlight = reader.keys.openingKey(sealing.keyId, context);
    while (provider.unwraps === unwrapsBefore) await new Promise((r) => setImmediate(r));
    await shredder.shred(context);
    await reader.heard.until((i) => i.kind === 'keys' && i.streamId === streamId);
    release();
    provider.gate = undefined;
    (await inFlight).fill(0); // began before the shred: it may finish

    expect(reader.cache.size).toBe(0);
    await expect(reader.keys.openingKey(sealing.keyId, context)).rejects.toBeInstanceOf(
      DataKeyShreddedError,
    );
  });

  it('in one process: DataKeys.shred tells its own subscribers too (conversation states, snapshots)', async () => {
    const local = await node(db.client, ring);
    nodes.push(local);
    const streamId = 'conversation:x:3';
    const context = { tenantId: tenant, streamId };
    const sealing = await local.keys.sealingKey({ ...context, epoch: '2026-12' });
    sealing.key.fill(0);
    await local.keys.shred(context);
    expect(await local.heard.until((i) => i.kind === 'keys' && i.streamId === streamId)).toEqual({
      kind: 'keys',
      tenantId: tenant,
      streamId,
      keyIds: [sealing.keyId],
    });
  });

  it('a rotation announced by one process drops the tenant’s keys everywhere, and only that tenant’s', async () => {
    const reader = await node(await otherClient(), ring);
    nodes.push(reader);
    const announcer = new KeyInvalidations(db.client, {
      forget: () => undefined,
      forgetTenant: () => 0,
      forgetAll: () => 0,
    });
    const other = `tenant-${randomUUID()}`;
    for (const t of [tenant, other]) {
      const context = { tenantId: t, streamId: 'conversation:x:4' };
      const k = await reader.keys.sealingKey({ ...context, epoch: '2026-12' });
      k.key.fill(0);
      (await reader.keys.openingKey(k.keyId, context)).fill(0);
    }
    expect(reader.cache.size).toBe(2);
    await announcer.announceKekRotated(tenant);
    await reader.heard.until((i) => i.kind === 'tenant' && i.tenantId === tenant);
    expect(reader.cache.size).toBe(1);
  });
});

describeWhenEnv(
  'TEST_DATABASE_URL',
  'KeyInvalidations when the listening connection is lost (PostgreSQL)',
  () => {
    let db: TestDatabase;
    let dir: string;
    let ring: LocalKeyRing;
    let client: SqlClient;
    let reader: Node;

    beforeAll(async () => {
      db = await openTestDatabase('postgres', [cryptoManifest]);
      dir = await mkdtemp(join(tmpdir(), 'll-key-invalidation-'));
      ring = (
        await LocalKeyRing.open({
          file: join(dir, 'keyring.json'),
          masterSecret: randomBytes(32).toString('base64'),
          createIfMissing: true,
          scrypt: { N: 2 ** 10, r: 8, p: 1 },
        })
      ).ring;
    });
    afterAll(async () => {
      await reader?.invalidations.stop();
      await client?.close();
      await ring?.close();
      await db?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('drops every cached key when the channel reconnects (a shred may have been missed meanwhile)', async () => {
      const appName = `ll-kinv-${randomBytes(4).toString('hex')}`;
      const url = new URL(db.url!);
      url.searchParams.set('application_name', appName);
      client = await PostgresSqlClient.connect({ connectionString: url.toString(), poolSize: 2 });
      reader = await node(client, ring);
      const context = { tenantId: `tenant-${randomUUID()}`, streamId: 'conversation:x:5' };
      const k = await reader.keys.sealingKey({ ...context, epoch: '2026-12' });
      k.key.fill(0);
      (await reader.keys.openingKey(k.keyId, context)).fill(0);
      expect(reader.cache.size).toBe(1);
      const before = reader.heard.all.filter((i) => i.kind === 'all').length;

      // The server ends the listening session (a failover, a network cut).
      const admin = new Client({ connectionString: db.url! });
      await admin.connect();
      try {
        const killed = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = $1 and query ilike 'listen %'`,
          [appName],
        );
        expect(killed.rowCount).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      await reader.heard.until(
        () => reader.heard.all.filter((i) => i.kind === 'all').length > before,
      );
      expect(reader.cache.size).toBe(0);
    });
  },
);
