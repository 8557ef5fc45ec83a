import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { describeWhenEnv } from '@ledgerline/testing';
import { CONTRACT_TENANTS, keyProviderContract } from '../contract/key-provider.contract';
import {
  KekNotFoundError,
  KeyProviderError,
  KeyProviderUnavailableError,
  KeyUnwrapError,
} from '../crypto.errors';
import { KmsLocalEndpoint } from '../testing/kms-local-endpoint';
import { AwsKmsKeyProvider, type AwsKmsKeyProviderOptions } from './aws-kms-key-provider.adapter';

const ctx = { tenantId: 'tenant-a', streamId: 'conversation-1' };

function providerFor(
  kms: KmsLocalEndpoint,
  overrides: Partial<AwsKmsKeyProviderOptions> = {},
): AwsKmsKeyProvider {
  return new AwsKmsKeyProvider({
    region: kms.region,
    endpoint: kms.url,
    credentials: kms.credentials,
    tenantKeys: new Map(),
    maxAttempts: 3,
    retryBaseDelayMs: 5,
    ...overrides,
  });
}

keyProviderContract(
  'AWS KMS (real SDK against the local KMS endpoint)',
  async () => {
    const kms = await KmsLocalEndpoint.start();
    const tenantKeys = new Map<string, string>();
    for (const tenant of Object.values(CONTRACT_TENANTS)) {
      kms.createKey({ alias: `alias/${tenant}` });
      tenantKeys.set(tenant, `alias/${tenant}`);
    }
    const provider = providerFor(kms, { tenantKeys });
    return {
      provider,
      // What an operator does in KMS: point the tenant's alias at a new key.
      rotate: async (tenantId) => {
        const next = kms.createKey();
        kms.setAlias(`alias/${tenantId}`, next.keyId);
        await Promise.resolve();
      },
      unknownKekId: `arn:aws:kms:${kms.region}:${kms.accountId}:key/${randomUUID()}`,
      tenantWithoutKek: 'tenant-without-kms-key',
      async teardown() {
        await provider.close();
        await kms.stop();
      },
    };
  },
  { rotates: true },
);

// Needs AWS credentials from the default chain, AWS_REGION and a symmetric key the credentials
// may use for GenerateDataKey, Decrypt, ReEncrypt* and DescribeKey. Rotation is not exercised:
// it would need a second key and permission to move an alias.
describeWhenEnv('AWS_KMS_KEY_ID', 'AWS KMS (real service)', () => {
  keyProviderContract(
    `AWS KMS key ${process.env['AWS_KMS_KEY_ID'] ?? ''}`,
    async () => {
      const key = process.env['AWS_KMS_KEY_ID']!;
      const provider = new AwsKmsKeyProvider({
        region: process.env['AWS_REGION'] ?? 'us-east-1',
        tenantKeys: new Map(Object.values(CONTRACT_TENANTS).map((t) => [t, key])),
        maxAttempts: 4,
      });
      const arn = (await provider.describeKek(CONTRACT_TENANTS.a)).kekId;
      return {
        provider,
        unknownKekId: arn.replace(/key\/[^/]+$/, `key/${randomUUID()}`),
        tenantWithoutKek: 'tenant-without-kms-key',
        teardown: () => provider.close(),
      };
    },
    { rotates: false },
  );
});

describe('AwsKmsKeyProvider against the local KMS endpoint', () => {
  let kms: KmsLocalEndpoint;
  let provider: AwsKmsKeyProvider;
  let keyA: { keyId: string; arn: string };
  let keyB: { keyId: string; arn: string };
  let fallback: { keyId: string; arn: string };

  beforeEach(async () => {
    kms = await KmsLocalEndpoint.start();
    keyA = kms.createKey({ alias: 'alias/tenant-a' });
    keyB = kms.createKey();
    fallback = kms.createKey({ alias: 'alias/ledgerline-default' });
    provider = providerFor(kms, {
      tenantKeys: new Map([
        ['tenant-a', 'alias/tenant-a'],
        ['tenant-b', keyB.keyId],
      ]),
      defaultKey: 'alias/ledgerline-default',
    });
  });
  afterEach(async () => {
    await provider.close();
    await kms.stop();
  });

  it('uses each tenant key (alias or id), the default key for others, and the ARN as KEK id and version', async () => {
    const a = await provider.generateDataKey(ctx);
    const b = await provider.generateDataKey({ tenantId: 'tenant-b', streamId: 's' });
    const other = await provider.generateDataKey({ tenantId: 'tenant-z', streamId: 's' });
    expect(a.wrapped).toMatchObject({ kekId: keyA.arn, kekVersion: keyA.arn });
    expect(b.wrapped).toMatchObject({ kekId: keyB.arn, kekVersion: keyB.arn });
    expect(other.wrapped).toMatchObject({ kekId: fallback.arn, kekVersion: fallback.arn });
    expect(await provider.describeKek('tenant-a')).toEqual({
      tenantId: 'tenant-a',
      kekId: keyA.arn,
      currentVersion: keyA.arn,
      versions: [keyA.arn],
      enabled: true,
    });
  });

  it('sends the encryption context {tenant, stream} with every operation', async () => {
    const { wrapped } = await provider.generateDataKey(ctx);
    await provider.unwrap(wrapped, ctx);
    await provider.rewrap(wrapped, ctx);
    expect(kms.requests.map((r) => [r.operation, r.encryptionContext])).toEqual([
      ['GenerateDataKey', { tenant: 'tenant-a', stream: 'conversation-1' }],
      ['Decrypt', { tenant: 'tenant-a', stream: 'conversation-1' }],
      ['ReEncrypt', { tenant: 'tenant-a', stream: 'conversation-1' }],
    ]);
  });

  it('reports rotation as done outside Ledgerline', async () => {
    expect(await provider.rotateKek('tenant-a')).toEqual({
      created: false,
      kek: await provider.describeKek('tenant-a'),
    });
  });

  it('keeps unwrapping after KMS rotates the key material, under the same ARN', async () => {
    const before = await provider.generateDataKey(ctx);
    kms.rotateKeyMaterial(keyA.keyId);
    const after = await provider.generateDataKey(ctx);
    expect(after.wrapped.kekVersion).toBe(before.wrapped.kekVersion);
    expect((await provider.unwrap(before.wrapped, ctx)).equals(before.plaintext)).toBe(true);
    expect((await provider.unwrap(after.wrapped, ctx)).equals(after.plaintext)).toBe(true);
  });

  it('retries throttling with backoff and then succeeds', async () => {
    kms.throttleNext(2);
    const { plaintext, wrapped } = await provider.generateDataKey(ctx);
    expect(plaintext).toHaveLength(32);
    expect(kms.requests.map((r) => r.outcome)).toEqual([
      'ThrottlingException',
      'ThrottlingException',
      'ok',
    ]);
    kms.failNext(1, 'KMSInternalException');
    expect((await provider.unwrap(wrapped, ctx)).equals(plaintext)).toBe(true);
    expect(kms.countOf('Decrypt')).toBe(2);
  });

  it('gives up on throttling after maxAttempts with a retryable KeyProviderUnavailableError', async () => {
    kms.throttleNext(10);
    const error = await provider.generateDataKey(ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyProviderUnavailableError);
    expect((error as KeyProviderUnavailableError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/after 3 attempts: ThrottlingException/);
    expect(kms.countOf('GenerateDataKey')).toBe(3);
  });

  it('raises KeyProviderUnavailableError after bounded attempts when the endpoint is down', async () => {
    kms.setDown('reset');
    const started = Date.now();
    const error = await provider.generateDataKey(ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyProviderUnavailableError);
    expect(kms.countOf('GenerateDataKey')).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);

    kms.setDown(false);
    await expect(provider.generateDataKey(ctx)).resolves.toBeDefined();
  });

  it('times out an endpoint that accepts and never answers, within bounded attempts', async () => {
    const impatient = providerFor(kms, {
      defaultKey: 'alias/tenant-a',
      maxAttempts: 2,
      requestTimeoutMs: 300,
    });
    kms.setDown('hang');
    try {
      const started = Date.now();
      await expect(impatient.generateDataKey(ctx)).rejects.toBeInstanceOf(
        KeyProviderUnavailableError,
      );
      expect(kms.countOf('GenerateDataKey')).toBe(2);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      kms.setDown(false);
      await impatient.close();
    }
  });

  it('raises KeyProviderUnavailableError when nothing listens at the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((r) => closed.close(() => r()));
    const nowhere = new AwsKmsKeyProvider({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: kms.credentials,
      tenantKeys: new Map(),
      defaultKey: 'alias/x',
      maxAttempts: 2,
      retryBaseDelayMs: 5,
    });
    try {
      const error = await nowhere.generateDataKey(ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyProviderUnavailableError);
      expect((error as Error).message).toMatch(/after 2 attempts: ECONNREFUSED/);
    } finally {
      await nowhere.close();
    }
  });

  it('does not retry AccessDenied and raises KeyProviderError', async () => {
    kms.failNext(1, 'AccessDeniedException');
    const error = await provider.generateDataKey(ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyProviderError);
    expect((error as Error).message).toContain('AccessDeniedException');
    expect(kms.countOf('GenerateDataKey')).toBe(1);
  });

  it('treats a disabled or deleted key as a missing KEK, and describes it as disabled', async () => {
    const { wrapped } = await provider.generateDataKey(ctx);
    kms.disableKey(keyA.keyId);
    await expect(provider.generateDataKey(ctx)).rejects.toBeInstanceOf(KekNotFoundError);
    await expect(provider.unwrap(wrapped, ctx)).rejects.toBeInstanceOf(KekNotFoundError);
    expect(await provider.describeKek('tenant-a')).toMatchObject({ enabled: false });
    kms.scheduleKeyDeletion(keyA.keyId);
    await expect(provider.unwrap(wrapped, ctx)).rejects.toBeInstanceOf(KekNotFoundError);
    expect(kms.countOf('Decrypt')).toBe(2);
  });

  it('refuses a wrap presented as another key (IncorrectKey) with KeyUnwrapError', async () => {
    const { wrapped } = await provider.generateDataKey(ctx);
    await expect(
      provider.unwrap({ ...wrapped, kekId: keyB.arn, kekVersion: keyB.arn }, ctx),
    ).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it('rewraps to another tenant key when the tenant is moved to it', async () => {
    const { plaintext, wrapped } = await provider.generateDataKey(ctx);
    const moved = await provider.rewrap(wrapped, ctx, { kekId: keyB.arn });
    expect(moved).toMatchObject({ kekId: keyB.arn, kekVersion: keyB.arn });
    expect((await provider.unwrap(moved, ctx)).equals(plaintext)).toBe(true);
  });

  it('has no KEK for a tenant without a key when there is no default, without calling KMS', async () => {
    const strict = providerFor(kms, { tenantKeys: new Map([['tenant-a', 'alias/tenant-a']]) });
    try {
      await expect(
        strict.generateDataKey({ tenantId: 'tenant-z', streamId: 's' }),
      ).rejects.toBeInstanceOf(KekNotFoundError);
      await expect(strict.describeKek('tenant-z')).rejects.toThrow(/tenant-z has no KMS key/);
      expect(kms.requests).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});
