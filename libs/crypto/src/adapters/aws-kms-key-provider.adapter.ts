import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ReEncryptCommand,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { ValidationError } from '@ledgerline/kernel';
import { KekNotFoundError, KeyProviderError } from '../crypto.errors';
import {
  assertId,
  assertKeyContext,
  type GeneratedDataKey,
  type KekDescription,
  type KekRotation,
  type KekTarget,
  type KeyContext,
  type KeyProvider,
  type WrappedDataKey,
} from '../key-provider.port';
import { classifyKmsError, toKeyProviderError } from './aws-kms-errors';

const KEY_BYTES = 32;

export interface AwsKmsKeyProviderOptions {
  readonly region: string;
  /** Overrides the KMS endpoint (a VPC endpoint, or a local test endpoint). */
  readonly endpoint?: string;
  /** tenant id → KMS key id, key ARN, alias name (`alias/…`) or alias ARN. */
  readonly tenantKeys: ReadonlyMap<string, string>;
  /** The key of tenants not in `tenantKeys`; without it such tenants have no KEK. */
  readonly defaultKey?: string;
  /** Attempts per operation, the first included, before KeyProviderUnavailableError. */
  readonly maxAttempts: number;
  /** Static credentials (a local endpoint); otherwise the SDK's default provider chain. */
  readonly credentials?: KMSClientConfig['credentials'];
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Backoff before retry n is random in [0, min(maxDelay, base·2^(n-1))] ("full jitter"). */
  readonly retryBaseDelayMs?: number;
  readonly retryMaxDelayMs?: number;
}

/**
 * KeyProvider over AWS KMS: data keys come from GenerateDataKey (AES_256) under the tenant's KMS
 * key, unwrap is Decrypt and rewrap is ReEncrypt, all with the EncryptionContext
 * `{tenant, stream}` (ids only: CloudTrail logs it in clear). IAM needs kms:GenerateDataKey,
 * kms:Decrypt, kms:ReEncryptFrom, kms:ReEncryptTo and kms:DescribeKey on the tenants' keys.
 *
 * KEK ids and versions: both are the key ARN KMS reports (the `KeyId` of its responses), so a wrap
 * records exactly which KMS key can decrypt it, and Decrypt is always called with that key. A KMS
 * key has a single version as far as Ledgerline can see: rotation of a key's material (automatic
 * or on demand) happens inside KMS, keeps the ARN and needs no rewrap. A tenant's KEK "version"
 * changes when its configured key id, or the alias it names, is pointed at another key; rewrap
 * then moves data keys to the new ARN (ReEncrypt), and `rotateKek` only reports the current key
 * with `created: false`.
 *
 * Throttling, KMS internal errors, timeouts and network failures are retried with full-jitter
 * exponential backoff, `maxAttempts` attempts in all (the SDK's own retries are switched off so
 * the bound is exact), then raise KeyProviderUnavailableError. AccessDenied and other refusals
 * raise KeyProviderError, NotFound/Disabled/pending deletion KekNotFoundError, and
 * InvalidCiphertext/IncorrectKey KeyUnwrapError, none retried.
 */
export class AwsKmsKeyProvider implements KeyProvider {
  readonly kind = 'aws-kms' as const;
  private readonly client: KMSClient;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: AwsKmsKeyProviderOptions) {
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
      throw new ValidationError('maxAttempts must be a positive integer', 'maxAttempts');
    }
    this.maxAttempts = options.maxAttempts;
    this.baseDelayMs = options.retryBaseDelayMs ?? 100;
    this.maxDelayMs = options.retryMaxDelayMs ?? 5_000;
    this.client = new KMSClient({
      region: options.region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 2_000,
        requestTimeout: options.requestTimeoutMs ?? 5_000,
        // Without it the SDK only logs a warning and keeps waiting.
        throwOnRequestTimeout: true,
      },
    });
  }

  /** The key reference configured for the tenant, or KekNotFoundError. */
  keyFor(tenantId: string): string {
    const key = this.options.tenantKeys.get(tenantId) ?? this.options.defaultKey;
    if (!key) {
      throw new KekNotFoundError(
        `tenant ${tenantId} has no KMS key (not in LEDGERLINE_KMS_KEYS and no default key)`,
      );
    }
    return key;
  }

  /** With `target`: under that KMS key (the ARN the database records as the tenant's current KEK). */
  async generateDataKey(context: KeyContext, target?: KekTarget): Promise<GeneratedDataKey> {
    assertKeyContext(context);
    if (target) {
      assertId(target.kekId, 'kekId');
      if (target.kekVersion !== undefined && target.kekVersion !== target.kekId) {
        throw new KekNotFoundError(
          `KMS key ${target.kekId} has no version ${target.kekVersion} (a KMS KEK's only version is its ARN)`,
        );
      }
    }
    const keyId = target?.kekId ?? this.keyFor(context.tenantId);
    const out = await this.call(
      `GenerateDataKey for tenant ${context.tenantId} stream ${context.streamId} under ${keyId}`,
      () =>
        this.client.send(
          new GenerateDataKeyCommand({
            KeyId: keyId,
            KeySpec: 'AES_256',
            EncryptionContext: encryptionContext(context),
          }),
        ),
    );
    const plaintext = takePlaintext(out.Plaintext, 'GenerateDataKey');
    if (!out.CiphertextBlob || !out.KeyId) {
      plaintext.fill(0);
      throw new KeyProviderError('KMS GenerateDataKey returned no ciphertext or key id');
    }
    return {
      plaintext,
      wrapped: { kekId: out.KeyId, kekVersion: out.KeyId, blob: out.CiphertextBlob },
    };
  }

  async unwrap(wrapped: WrappedDataKey, context: KeyContext): Promise<Buffer> {
    assertKeyContext(context);
    assertKmsWrap(wrapped);
    const out = await this.call(
      `Decrypt for tenant ${context.tenantId} stream ${context.streamId} under ${wrapped.kekId}`,
      () =>
        this.client.send(
          new DecryptCommand({
            CiphertextBlob: wrapped.blob,
            KeyId: wrapped.kekId,
            EncryptionContext: encryptionContext(context),
          }),
        ),
    );
    return takePlaintext(out.Plaintext, 'Decrypt');
  }

  async rewrap(
    wrapped: WrappedDataKey,
    context: KeyContext,
    target?: KekTarget,
  ): Promise<WrappedDataKey> {
    assertKeyContext(context);
    assertKmsWrap(wrapped);
    let destination: string;
    if (target) {
      assertId(target.kekId, 'kekId');
      if (target.kekVersion !== undefined && target.kekVersion !== target.kekId) {
        throw new KekNotFoundError(
          `KMS key ${target.kekId} has no version ${target.kekVersion} (a KMS KEK's only version is its ARN)`,
        );
      }
      destination = target.kekId;
    } else {
      destination = this.keyFor(context.tenantId);
    }
    const out = await this.call(
      `ReEncrypt for tenant ${context.tenantId} stream ${context.streamId} from ${wrapped.kekId} to ${destination}`,
      () =>
        this.client.send(
          new ReEncryptCommand({
            CiphertextBlob: wrapped.blob,
            SourceKeyId: wrapped.kekId,
            SourceEncryptionContext: encryptionContext(context),
            DestinationKeyId: destination,
            DestinationEncryptionContext: encryptionContext(context),
          }),
        ),
    );
    if (!out.CiphertextBlob || !out.KeyId) {
      throw new KeyProviderError('KMS ReEncrypt returned no ciphertext or key id');
    }
    return { kekId: out.KeyId, kekVersion: out.KeyId, blob: out.CiphertextBlob };
  }

  async describeKek(tenantId: string): Promise<KekDescription> {
    assertId(tenantId, 'tenantId');
    const keyId = this.keyFor(tenantId);
    const out = await this.call(`DescribeKey for tenant ${tenantId} (${keyId})`, () =>
      this.client.send(new DescribeKeyCommand({ KeyId: keyId })),
    );
    const arn = out.KeyMetadata?.Arn;
    if (!arn) throw new KeyProviderError(`KMS DescribeKey for ${keyId} returned no ARN`);
    return {
      tenantId,
      kekId: arn,
      currentVersion: arn,
      versions: [arn],
      enabled: out.KeyMetadata?.Enabled === true && out.KeyMetadata.KeyState === 'Enabled',
    };
  }

  /** KMS rotates key material itself; this reports the tenant's current key (`created: false`). */
  async rotateKek(tenantId: string): Promise<KekRotation> {
    return { created: false, kek: await this.describeKek(tenantId) };
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async close(): Promise<void> {
    this.client.destroy();
  }

  /** `send` builds a fresh command per attempt: the SDK does not promise a command is reusable. */
  private async call<O>(what: string, send: () => Promise<O>): Promise<O> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        const failure = classifyKmsError(error);
        if (failure !== 'retry' || attempt >= this.maxAttempts) {
          throw toKeyProviderError(error, failure, what, attempt);
        }
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, Math.random() * ceiling));
      }
    }
  }
}

function encryptionContext(context: KeyContext): Record<string, string> {
  return { tenant: context.tenantId, stream: context.streamId };
}

/** Copies KMS's plaintext into a Buffer the caller owns and wipes the SDK's copy. */
function takePlaintext(plaintext: Uint8Array | undefined, operation: string): Buffer {
  if (!plaintext || plaintext.length !== KEY_BYTES) {
    const length = plaintext?.length ?? 0;
    plaintext?.fill(0);
    throw new KeyProviderError(`KMS ${operation} returned a ${length}-byte key, not ${KEY_BYTES}`);
  }
  const key = Buffer.alloc(KEY_BYTES);
  key.set(plaintext);
  plaintext.fill(0);
  return key;
}

function assertKmsWrap(wrapped: WrappedDataKey): void {
  assertId(wrapped.kekId, 'kekId');
  assertId(wrapped.kekVersion, 'kekVersion');
  if (!(wrapped.blob instanceof Uint8Array) || wrapped.blob.length === 0) {
    throw new ValidationError('wrapped data key blob must be non-empty bytes', 'blob');
  }
  if (wrapped.kekVersion !== wrapped.kekId) {
    throw new KekNotFoundError(
      `KMS key ${wrapped.kekId} has no version ${wrapped.kekVersion} (a KMS KEK's only version is its ARN)`,
    );
  }
}
