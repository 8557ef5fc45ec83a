import { DataKeyCache, type DataKeyCacheLimits } from './data-key-cache';
import type {
  GeneratedDataKey,
  KekDescription,
  KekRotation,
  KekTarget,
  KeyContext,
  KeyProvider,
  WrappedDataKey,
} from './key-provider.port';

/** What the counting decorators report to (libs/metrics' Metrics has these methods). */
export interface KeyCounter {
  countKeyProviderCall(
    operation: 'generate' | 'unwrap' | 'rewrap' | 'describe' | 'rotate',
    outcome: 'ok' | 'error',
  ): void;
  countDataKeyLookup(result: 'hit' | 'miss'): void;
}

/**
 * A KeyProvider that counts its calls by operation and outcome (with AWS KMS, each is a KMS
 * request: what the data-key cache exists to keep rare). Everything else is the wrapped provider's.
 */
export function countingKeyProvider(provider: KeyProvider, counter: KeyCounter): KeyProvider {
  const counted = async <T>(
    operation: Parameters<KeyCounter['countKeyProviderCall']>[0],
    call: () => Promise<T>,
  ): Promise<T> => {
    try {
      const result = await call();
      counter.countKeyProviderCall(operation, 'ok');
      return result;
    } catch (error) {
      counter.countKeyProviderCall(operation, 'error');
      throw error;
    }
  };
  return {
    get kind() {
      return provider.kind;
    },
    generateDataKey: (context: KeyContext): Promise<GeneratedDataKey> =>
      counted('generate', () => provider.generateDataKey(context)),
    unwrap: (wrapped: WrappedDataKey, context: KeyContext): Promise<Buffer> =>
      counted('unwrap', () => provider.unwrap(wrapped, context)),
    rewrap: (
      wrapped: WrappedDataKey,
      context: KeyContext,
      target?: KekTarget,
    ): Promise<WrappedDataKey> =>
      counted('rewrap', () => provider.rewrap(wrapped, context, target)),
    describeKek: (tenantId: string): Promise<KekDescription> =>
      counted('describe', () => provider.describeKek(tenantId)),
    rotateKek: (tenantId: string): Promise<KekRotation> =>
      counted('rotate', () => provider.rotateKek(tenantId)),
    close: () => provider.close(),
  };
}

/**
 * The data-key cache, counting each lookup (`get`) as a hit or a miss. A lookup is one `get`: a
 * key opened for the first time is looked up more than once on its way in (a miss before the
 * store is read, a miss before the unwrap, a hit after it), so misses over lookups overstates
 * how often the KeyProvider is asked; `ledgerline_key_provider_calls_total` counts that exactly.
 */
export class CountingDataKeyCache extends DataKeyCache {
  constructor(
    limits: DataKeyCacheLimits,
    private readonly counter: KeyCounter,
    now?: () => number,
  ) {
    super(limits, now);
  }

  override get(keyId: string, uses = 1): Buffer | undefined {
    const key = super.get(keyId, uses);
    this.counter.countDataKeyLookup(key ? 'hit' : 'miss');
    return key;
  }
}
