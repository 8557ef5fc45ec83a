import type {
  GeneratedDataKey,
  KekDescription,
  KekRotation,
  KekTarget,
  KeyContext,
  KeyProvider,
  WrappedDataKey,
} from '@ledgerline/crypto';

/** KeyProvider calls that reach the KMS for data keys: each a billed, rate-limited request. */
export interface KeyProviderCalls {
  readonly generateDataKey: number;
  readonly unwrap: number;
  readonly rewrap: number;
}

/**
 * A KeyProvider that counts generateDataKey, unwrap and rewrap calls and hands every call, counted
 * or not, to the provider it wraps, so it keeps that provider's guarantees. A call is counted when
 * it is made, whether or not it succeeds: a KMS bills failed requests too.
 */
export class CountingKeyProvider implements KeyProvider {
  private counts = { generateDataKey: 0, unwrap: 0, rewrap: 0 };

  constructor(private readonly inner: KeyProvider) {}

  get kind(): KeyProvider['kind'] {
    return this.inner.kind;
  }

  /** The calls so far; subtract two snapshots to count a phase. */
  calls(): KeyProviderCalls {
    return { ...this.counts };
  }

  generateDataKey(context: KeyContext): Promise<GeneratedDataKey> {
    this.counts.generateDataKey += 1;
    return this.inner.generateDataKey(context);
  }

  unwrap(wrapped: WrappedDataKey, context: KeyContext): Promise<Buffer> {
    this.counts.unwrap += 1;
    return this.inner.unwrap(wrapped, context);
  }

  rewrap(
    wrapped: WrappedDataKey,
    context: KeyContext,
    target?: KekTarget,
  ): Promise<WrappedDataKey> {
    this.counts.rewrap += 1;
    return this.inner.rewrap(wrapped, context, target);
  }

  describeKek(tenantId: string): Promise<KekDescription> {
    return this.inner.describeKek(tenantId);
  }

  rotateKek(tenantId: string): Promise<KekRotation> {
    return this.inner.rotateKek(tenantId);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function callsSince(before: KeyProviderCalls, after: KeyProviderCalls): KeyProviderCalls {
  return {
    generateDataKey: after.generateDataKey - before.generateDataKey,
    unwrap: after.unwrap - before.unwrap,
    rewrap: after.rewrap - before.rewrap,
  };
}
