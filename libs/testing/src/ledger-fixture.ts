import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataKeyCache,
  DataKeyStore,
  DataKeys,
  LegalHolds,
  LocalKeyRing,
  type KeyProvider,
} from '@ledgerline/crypto';
import { cryptoManifest } from '@ledgerline/crypto/manifest';
import { SqlEventStore } from '@ledgerline/event-store';
import { eventStoreManifest } from '@ledgerline/event-store/manifest';
import { DEFAULT_EVENT_STORE_LIMITS, ManualClock, uuidV7Generator } from '@ledgerline/kernel';
import { KeyLifecycle, Ledger, type IntegrityError } from '@ledgerline/ledger';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from './test-database';

/** Counts the provider calls that reach the KMS (or the key ring), for "not per event" checks. */
export class CountingProvider implements KeyProvider {
  readonly calls = { generateDataKey: 0, unwrap: 0, rewrap: 0 };
  /** When set, `rewrap` fails after this many calls: a crash in the middle of a rotation. */
  failRewrapAfter: number | undefined;
  constructor(private readonly inner: KeyProvider) {}
  get kind() {
    return this.inner.kind;
  }
  generateDataKey(...a: Parameters<KeyProvider['generateDataKey']>) {
    this.calls.generateDataKey += 1;
    return this.inner.generateDataKey(...a);
  }
  unwrap(...a: Parameters<KeyProvider['unwrap']>) {
    this.calls.unwrap += 1;
    return this.inner.unwrap(...a);
  }
  rewrap(...a: Parameters<KeyProvider['rewrap']>) {
    if (this.failRewrapAfter !== undefined && this.calls.rewrap >= this.failRewrapAfter) {
      return Promise.reject(new Error('simulated crash during rotation'));
    }
    this.calls.rewrap += 1;
    return this.inner.rewrap(...a);
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

export interface LedgerFixture {
  readonly db: TestDatabase;
  readonly store: SqlEventStore;
  readonly keyStore: DataKeyStore;
  readonly holds: LegalHolds;
  readonly provider: CountingProvider;
  readonly clock: ManualClock;
  readonly alarms: IntegrityError[];
  /** A ledger with its own, empty data-key cache (as a fresh process would have). */
  newLedger(options?: { maxEventsPerDataKey?: number }): { ledger: Ledger; dataKeys: DataKeys };
  readonly ledger: Ledger;
  readonly lifecycle: KeyLifecycle;
  close(): Promise<void>;
}

/** The whole sealing path on a real database and a real key ring in a temporary directory. */
export async function openLedgerFixture(kind: TestDatabaseKind): Promise<LedgerFixture> {
  const db = await openTestDatabase(kind, [eventStoreManifest, cryptoManifest]);
  const dir = await mkdtemp(join(tmpdir(), 'll-ledger-'));
  const clock = new ManualClock();
  const store = SqlEventStore.create(db.client, {
    limits: DEFAULT_EVENT_STORE_LIMITS,
    clock,
    pollIntervalMs: 100,
  });
  const keyStore = DataKeyStore.create(db.client);
  const holds = LegalHolds.create(db.client);
  const { ring } = await LocalKeyRing.open({
    file: join(dir, 'keyring.json'),
    masterSecret: randomBytes(32).toString('base64'),
    createIfMissing: true,
    scrypt: { N: 2 ** 10, r: 8, p: 1 },
  });
  const provider = new CountingProvider(ring);
  const alarms: IntegrityError[] = [];
  const newLedger = (options: { maxEventsPerDataKey?: number } = {}) => {
    const dataKeys = new DataKeys(
      provider,
      keyStore,
      new DataKeyCache({ maxKeys: 100, maxAgeMs: 60_000, maxUses: 1_000_000 }),
      { maxEventsPerDataKey: options.maxEventsPerDataKey ?? 1_000 },
    );
    const ledger = new Ledger(store, dataKeys, {
      clock,
      onIntegrityFailure: (e) => alarms.push(e),
    });
    return { ledger, dataKeys };
  };
  const main = newLedger();
  return {
    db,
    store,
    keyStore,
    holds,
    provider,
    clock,
    alarms,
    newLedger,
    ledger: main.ledger,
    lifecycle: new KeyLifecycle(main.ledger, provider, keyStore, main.dataKeys, uuidV7Generator, {
      holds,
    }),
    async close() {
      await store.close();
      await provider.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
