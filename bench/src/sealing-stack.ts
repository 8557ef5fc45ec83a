import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataKeyCache,
  DataKeyStore,
  DataKeys,
  LocalKeyRing,
  type DataKeyCacheLimits,
} from '@ledgerline/crypto';
import { SqlEventStore } from '@ledgerline/event-store';
import { DEFAULT_EVENT_STORE_LIMITS, loadConfig, systemClock } from '@ledgerline/kernel';
import { Ledger } from '@ledgerline/ledger';
import type { BenchDatabase } from './bench-database';
import { countKeyProviderCalls, type CountingKeyProvider } from './counting-key-provider';

/**
 * The sealing path as the server composes it (CryptoModule, LedgerModule), on the bench database:
 * the SQL event store, the data-key store, and a local key ring in a temporary directory behind a
 * call-counting provider. Data-key limits are the server's defaults, read from an empty
 * environment so this shell's LEDGERLINE_* variables do not change the figures.
 */
export interface SealingStack {
  /** The store the ledgers write to: also the reference, which writes and reads it directly. */
  readonly store: SqlEventStore;
  readonly provider: CountingKeyProvider;
  /** A Ledger with its own, empty data-key cache, as a freshly started process has. */
  newLedger(options?: LedgerCaches): Ledger;
  /**
   * Data keys with an empty cache, for a Ledger (`ledgerOver`) and whatever else seals with the
   * same keys in one process, e.g. a snapshot store: the server's CryptoModule gives one to both.
   */
  newDataKeys(limits?: DataKeyCacheLimits): DataKeys;
  /** A Ledger over the given data keys. */
  ledgerOver(dataKeys: DataKeys, options?: Pick<LedgerCaches, 'tips'>): Ledger;
  /** Closes the store and the ring and removes the ring's directory. */
  close(): Promise<void>;
}

export interface LedgerCaches {
  /** Default: LEDGERLINE_DEK_CACHE_* defaults. */
  readonly dataKeys?: DataKeyCacheLimits;
  /** Default: the Ledger's (10,000 streams). */
  readonly tips?: number;
}

export async function openSealingStack(db: BenchDatabase): Promise<SealingStack> {
  const defaults = loadConfig({}).keys;
  const dir = await mkdtemp(join(tmpdir(), 'll-bench-keyring-'));
  const closers: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    // The default scrypt cost, as a new ring gets: a one-off fraction of a second at start-up.
    const { ring } = await LocalKeyRing.open({
      file: join(dir, 'keyring.json'),
      masterSecret: randomBytes(32).toString('base64'),
      createIfMissing: true,
    });
    const provider = countKeyProviderCalls(ring);
    closers.push(() => provider.close());
    const store = SqlEventStore.create(db.client, {
      limits: DEFAULT_EVENT_STORE_LIMITS,
      clock: systemClock,
      pollIntervalMs: 1_000,
    });
    closers.push(() => store.close());
    const keyStore = DataKeyStore.create(db.client);
    const newDataKeys = (limits?: DataKeyCacheLimits): DataKeys =>
      new DataKeys(provider, keyStore, new DataKeyCache(limits ?? defaults.cache), {
        maxEventsPerDataKey: defaults.maxEventsPerDataKey,
      });
    const ledgerOver = (dataKeys: DataKeys, options: Pick<LedgerCaches, 'tips'> = {}): Ledger =>
      new Ledger(store, dataKeys, { clock: systemClock, tipCacheSize: options.tips });
    return {
      store,
      provider,
      newLedger: (options = {}) => ledgerOver(newDataKeys(options.dataKeys), options),
      newDataKeys,
      ledgerOver,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
