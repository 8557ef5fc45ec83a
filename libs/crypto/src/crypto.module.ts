import { stat } from 'node:fs/promises';
import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import {
  CONFIG,
  ConfigError,
  ID_GENERATOR,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { METRICS, type Metrics } from '@ledgerline/metrics';
import { AwsKmsKeyProvider } from './adapters/aws-kms-key-provider.adapter';
import { LocalKeyRing } from './adapters/local-key-ring.adapter';
import { CountingDataKeyCache, countingKeyProvider } from './counting-key-provider';
import { KeyRingOpenError } from './crypto.errors';
import { DataKeyCache } from './data-key-cache';
import { DataKeyStore } from './data-key-store';
import { DataKeys } from './data-keys';
import { CurrentKekKeyProvider } from './current-kek-key-provider';
import { KeyInvalidations } from './key-invalidation';
import type { KeyProvider } from './key-provider.port';
import { LegalHolds } from './legal-holds';
import { resolveMasterSecret } from './master-secret';
import { TenantKeks } from './tenant-keks';

export const KEY_PROVIDER = Symbol('KeyProvider');
export const DATA_KEY_STORE = Symbol('DataKeyStore');
export const DATA_KEY_CACHE = Symbol('DataKeyCache');
export const DATA_KEYS = Symbol('DataKeys');
export const LEGAL_HOLDS = Symbol('LegalHolds');
export const KEY_INVALIDATIONS = Symbol('KeyInvalidations');
export const TENANT_KEKS = Symbol('TenantKeks');

/** Where start-up reports what it did (a Nest Logger in the app, anything in the CLI). */
export interface KeyProviderLog {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * The configured KeyProvider. `local`: the key ring at LEDGERLINE_KEYRING_FILE under the master
 * secret from LEDGERLINE_MASTER_KEY(_FILE), or, in the embedded default, a secret generated next
 * to the ring on first start; the ring is created when missing unless the database already holds
 * data keys wrapped by a local ring (then the ring must be restored, not replaced). `aws-kms`:
 * AWS KMS with the per-tenant keys. Shared by the app module and the CLI.
 */
export async function openKeyProvider(
  config: LedgerlineConfig,
  store: DataKeyStore,
  log: KeyProviderLog,
): Promise<KeyProvider> {
  const keys = config.keys;
  if (keys.provider === 'aws-kms') {
    if (!keys.aws.region) {
      throw new ConfigError([
        { variable: 'AWS_REGION', problem: 'required when LEDGERLINE_KEY_PROVIDER=aws-kms' },
      ]);
    }
    log.log(
      `key provider: AWS KMS in ${keys.aws.region}${keys.aws.endpoint ? ` at ${keys.aws.endpoint}` : ''}, ${keys.aws.tenantKeys.size} tenant key(s)${keys.aws.defaultKey ? ' and a default key' : ''}`,
    );
    return new AwsKmsKeyProvider({
      region: keys.aws.region,
      endpoint: keys.aws.endpoint,
      tenantKeys: keys.aws.tenantKeys,
      defaultKey: keys.aws.defaultKey,
      maxAttempts: keys.aws.maxAttempts,
    });
  }

  const ringExists = await stat(keys.keyringFile).then(
    () => true,
    () => false,
  );
  if (!ringExists) {
    const localKeks = (await store.countByKekVersion()).filter((k) => !k.kekId.startsWith('arn:'));
    if (localKeks.length > 0) {
      throw new KeyRingOpenError(
        `key ring ${keys.keyringFile} is missing but the database holds data keys wrapped by a local key ring (${localKeks.reduce((n, k) => n + k.keys, 0)} wraps); restore the ring file from backup: a new ring cannot unwrap them`,
      );
    }
  }
  const master = await resolveMasterSecret(keys);
  if (master.generated) {
    log.warn(
      `generated a master secret for the local key ring at ${master.file}: back it up apart from the ring, and in production set LEDGERLINE_MASTER_KEY_FILE to a secret kept elsewhere`,
    );
  }
  const opened = await LocalKeyRing.open({
    file: keys.keyringFile,
    masterSecret: master.secret,
    createIfMissing: !ringExists,
  });
  for (const warning of opened.warnings) log.warn(warning);
  log.log(
    opened.created
      ? `created a new local key ring at ${keys.keyringFile} (master secret from ${master.source})`
      : `opened the local key ring at ${keys.keyringFile} (master secret from ${master.source})`,
  );
  return opened.ring;
}

class CryptoLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(KEY_PROVIDER) private readonly provider: KeyProvider,
    @Inject(DATA_KEY_CACHE) private readonly cache: DataKeyCache,
    @Inject(KEY_INVALIDATIONS) private readonly invalidations: KeyInvalidations,
  ) {}
  // After the handlers using keys have stopped: wipe cached data keys and the provider's keys.
  async onApplicationShutdown(): Promise<void> {
    await this.invalidations.stop();
    this.cache.clear();
    await this.provider.close();
  }
}

/**
 * Key management from configuration: the KeyProvider (local key ring or AWS KMS), the data-key
 * store and legal holds on the process's database, the in-memory data-key cache, DataKeys,
 * which the ledger seals and opens events with, and KeyInvalidations, which drops from memory
 * what another process shredded (ADR 0018). With METRICS in the app, KeyProvider calls and
 * data-key cache lookups are counted.
 */
@Global()
@Module({
  providers: [
    {
      provide: DATA_KEY_STORE,
      inject: [SQL_CLIENT],
      useFactory: (client: SqlClient) => DataKeyStore.create(client),
    },
    {
      provide: LEGAL_HOLDS,
      inject: [SQL_CLIENT, ID_GENERATOR],
      useFactory: (client: SqlClient, ids: IdGenerator) => LegalHolds.create(client, ids),
    },
    {
      provide: TENANT_KEKS,
      inject: [SQL_CLIENT],
      useFactory: (client: SqlClient) => TenantKeks.create(client),
    },
    {
      // New data keys follow the tenant's current KEK as the database records it (ADR 0018).
      provide: KEY_PROVIDER,
      inject: [CONFIG, DATA_KEY_STORE, TENANT_KEKS, { token: METRICS, optional: true }],
      useFactory: async (
        config: LedgerlineConfig,
        store: DataKeyStore,
        keks: TenantKeks,
        metrics?: Metrics,
      ) => {
        const provider = new CurrentKekKeyProvider(
          await openKeyProvider(config, store, new Logger('KeyProvider')),
          keks,
        );
        return metrics ? countingKeyProvider(provider, metrics) : provider;
      },
    },
    {
      provide: DATA_KEY_CACHE,
      inject: [CONFIG, { token: METRICS, optional: true }],
      useFactory: (config: LedgerlineConfig, metrics?: Metrics) =>
        metrics
          ? new CountingDataKeyCache(config.keys.cache, metrics)
          : new DataKeyCache(config.keys.cache),
    },
    {
      provide: DATA_KEYS,
      inject: [KEY_PROVIDER, DATA_KEY_STORE, DATA_KEY_CACHE, CONFIG, ID_GENERATOR],
      useFactory: (
        provider: KeyProvider,
        store: DataKeyStore,
        cache: DataKeyCache,
        config: LedgerlineConfig,
        ids: IdGenerator,
      ) =>
        new DataKeys(provider, store, cache, {
          maxEventsPerDataKey: config.keys.maxEventsPerDataKey,
          ids,
        }),
    },
    {
      // Listening before anything is served: a shred elsewhere reaches this cache from the start.
      provide: KEY_INVALIDATIONS,
      inject: [SQL_CLIENT, DATA_KEYS],
      useFactory: async (client: SqlClient, dataKeys: DataKeys) => {
        const logger = new Logger('KeyInvalidations');
        const invalidations = new KeyInvalidations(client, dataKeys, {
          log: { log: (f) => logger.log(f), warn: (f) => logger.warn(f) },
        });
        await invalidations.start();
        return invalidations;
      },
    },
    CryptoLifecycle,
  ],
  exports: [
    KEY_PROVIDER,
    DATA_KEY_STORE,
    DATA_KEY_CACHE,
    DATA_KEYS,
    LEGAL_HOLDS,
    KEY_INVALIDATIONS,
    TENANT_KEKS,
  ],
})
export class CryptoModule {}
