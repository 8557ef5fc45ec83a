import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SQL_CLIENT } from '@ledgerline/database';
import {
  CONFIG,
  ConfigError,
  ID_GENERATOR,
  loadConfig,
  uuidV7Generator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { cryptoManifest } from './manifest';
import { openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { KeyProviderError, KeyRingOpenError } from './crypto.errors';
import { CryptoModule, DATA_KEYS, KEY_PROVIDER, LEGAL_HOLDS } from './crypto.module';
import type { DataKeys } from './data-keys';
import type { KeyProvider } from './key-provider.port';
import type { LegalHolds } from './legal-holds';
import { KmsLocalEndpoint } from './testing/kms-local-endpoint';

@Module({})
class TestGlobals {
  static with(config: LedgerlineConfig, db: TestDatabase): DynamicModule {
    return {
      module: TestGlobals,
      global: true,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: SQL_CLIENT, useValue: db.client },
        { provide: ID_GENERATOR, useValue: uuidV7Generator },
      ],
      exports: [CONFIG, SQL_CLIENT, ID_GENERATOR],
    };
  }
}

async function boot(config: LedgerlineConfig, db: TestDatabase): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [TestGlobals.with(config, db), CryptoModule],
  }).compile();
  return moduleRef.init();
}

describe('CryptoModule', () => {
  let dir: string;
  let db: TestDatabase;
  let logs: string[];
  const scope = { tenantId: 'tenant-a', streamId: 'conversation-1', epoch: '2026-11' };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'll-crypto-module-'));
    db = await openTestDatabase(undefined, [cryptoManifest]);
    logs = [];
    for (const level of ['log', 'warn'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(function (
        this: Logger,
        ...args: unknown[]
      ) {
        // Only what the crypto module says, not Nest's own start-up lines.
        if ((this as unknown as { context?: string }).context === 'KeyProvider') {
          logs.push(`${level}: ${String(args[0])}`);
        }
      });
    }
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('embedded default: generates a master secret and a ring on first start, logs where, reuses both after', async () => {
    const config = loadConfig({ LEDGERLINE_DATA_DIR: dir });
    const first = await boot(config, db);
    const sealed = await first.get<DataKeys>(DATA_KEYS).sealingKey(scope);
    const provider = first.get<KeyProvider>(KEY_PROVIDER);
    expect(provider.kind).toBe('local');
    await first.close();

    const masterFile = join(dir, 'master.key');
    expect((await stat(masterFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'keyring.json'))).mode & 0o777).toBe(0o600);
    const secret = (await readFile(masterFile, 'utf8')).trim();
    expect(Buffer.from(secret, 'base64')).toHaveLength(32);
    expect(logs).toEqual([
      expect.stringMatching(new RegExp(`^warn: generated a master secret .* at ${masterFile}`)),
      `log: created a new local key ring at ${join(dir, 'keyring.json')} (master secret from generated file)`,
    ]);
    expect(logs.join('\n')).not.toContain(secret);
    // Closing the app closed the ring.
    await expect(provider.describeKek('tenant-a')).rejects.toBeInstanceOf(KeyProviderError);

    logs.length = 0;
    const second = await boot(config, db);
    const reopened = await second.get<DataKeys>(DATA_KEYS).openingKey(sealed.keyId, scope);
    expect(reopened.equals(sealed.key)).toBe(true);
    expect(logs).toEqual([
      `log: opened the local key ring at ${join(dir, 'keyring.json')} (master secret from generated file)`,
    ]);
    expect(second.get<LegalHolds>(LEGAL_HOLDS)).toBeDefined();
    await second.close();
  });

  it('uses a configured master secret and never writes one', async () => {
    const config = loadConfig({
      LEDGERLINE_DATA_DIR: dir,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
    });
    const app = await boot(config, db);
    await app.get<DataKeys>(DATA_KEYS).sealingKey(scope);
    await app.close();
    await expect(stat(join(dir, 'master.key'))).rejects.toThrow();
    expect(logs).toEqual([expect.stringContaining('master secret from LEDGERLINE_MASTER_KEY')]);
  });

  it('reads the master secret from LEDGERLINE_MASTER_KEY_FILE', async () => {
    const file = join(dir, 'secret');
    await writeFile(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const app = await boot(
      loadConfig({ LEDGERLINE_DATA_DIR: dir, LEDGERLINE_MASTER_KEY_FILE: file }),
      db,
    );
    await app.close();
    expect(logs).toEqual([
      expect.stringContaining('master secret from LEDGERLINE_MASTER_KEY_FILE'),
    ]);
    await expect(
      boot(
        loadConfig({ LEDGERLINE_DATA_DIR: dir, LEDGERLINE_MASTER_KEY_FILE: join(dir, 'nope') }),
        db,
      ),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('refuses to start with a wrong master secret, or with a missing ring the database still needs', async () => {
    const config = loadConfig({ LEDGERLINE_DATA_DIR: dir });
    const app = await boot(config, db);
    await app.get<DataKeys>(DATA_KEYS).sealingKey(scope);
    await app.close();

    const wrong = loadConfig({
      LEDGERLINE_DATA_DIR: dir,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
    });
    await expect(boot(wrong, db)).rejects.toThrow(/master secret is not the one/);

    await rm(join(dir, 'keyring.json'));
    await expect(boot(config, db)).rejects.toBeInstanceOf(KeyRingOpenError);
    await expect(stat(join(dir, 'keyring.json'))).rejects.toThrow();

    await rm(join(dir, 'master.key'));
    await writeFile(join(dir, 'keyring.json'), '{}');
    await expect(boot(config, db)).rejects.toThrow(/exists but no master secret is configured/);
  });

  it('aws-kms: builds the KMS provider from configuration and seals through it', async () => {
    const kms = await KmsLocalEndpoint.start();
    const key = kms.createKey({ alias: 'alias/tenant-a' });
    const saved = { ...process.env };
    // The KMS client takes credentials from the SDK's default chain, here the environment.
    process.env['AWS_ACCESS_KEY_ID'] = kms.credentials.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = kms.credentials.secretAccessKey;
    try {
      const config = loadConfig({
        LEDGERLINE_DATA_DIR: dir,
        LEDGERLINE_KEY_PROVIDER: 'aws-kms',
        AWS_REGION: kms.region,
        LEDGERLINE_KMS_ENDPOINT: kms.url,
        LEDGERLINE_KMS_KEYS: 'tenant-a=alias/tenant-a',
      });
      const app = await boot(config, db);
      const keys = app.get<DataKeys>(DATA_KEYS);
      const sealed = await keys.sealingKey(scope);
      expect(app.get<KeyProvider>(KEY_PROVIDER).kind).toBe('aws-kms');
      expect((await app.get<KeyProvider>(KEY_PROVIDER).describeKek('tenant-a')).kekId).toBe(
        key.arn,
      );
      expect(kms.countOf('GenerateDataKey')).toBe(1);
      await app.close();
      await expect(stat(join(dir, 'keyring.json'))).rejects.toThrow();

      const again = await boot(config, db);
      const opened = await again.get<DataKeys>(DATA_KEYS).openingKey(sealed.keyId, scope);
      expect(opened.equals(sealed.key)).toBe(true);
      expect(kms.countOf('Decrypt')).toBe(1);
      await again.close();

      const noRegion = loadConfig({
        LEDGERLINE_DATA_DIR: dir,
        LEDGERLINE_KEY_PROVIDER: 'aws-kms',
        LEDGERLINE_KMS_DEFAULT_KEY: `alias/${randomUUID()}`,
      });
      await expect(boot(noRegion, db)).rejects.toThrow(/AWS_REGION/);
    } finally {
      process.env = saved;
      await kms.stop();
    }
  });
});
