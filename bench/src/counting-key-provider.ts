import { countingKeyProvider, type KeyProvider } from '@ledgerline/crypto';

/** KeyProvider calls that reach the KMS for data keys: each a billed, rate-limited request. */
export interface KeyProviderCalls {
  readonly generateDataKey: number;
  readonly unwrap: number;
  readonly rewrap: number;
}

/**
 * A KeyProvider whose generateDataKey, unwrap and rewrap calls are counted (by libs/crypto's
 * counting decorator, as the server's metrics count them), with `calls()` to read the counts. A
 * failed call counts too: a KMS bills failed requests.
 */
export interface CountingKeyProvider extends KeyProvider {
  /** The calls so far; subtract two snapshots to count a phase. */
  calls(): KeyProviderCalls;
}

export function countKeyProviderCalls(inner: KeyProvider): CountingKeyProvider {
  const counts = { generateDataKey: 0, unwrap: 0, rewrap: 0 };
  const provider = countingKeyProvider(inner, {
    countKeyProviderCall: (operation) => {
      if (operation === 'generate') counts.generateDataKey += 1;
      else if (operation === 'unwrap' || operation === 'rewrap') counts[operation] += 1;
    },
    countDataKeyLookup: () => undefined,
  });
  return { ...provider, kind: provider.kind, calls: () => ({ ...counts }) };
}

export function callsSince(before: KeyProviderCalls, after: KeyProviderCalls): KeyProviderCalls {
  return {
    generateDataKey: after.generateDataKey - before.generateDataKey,
    unwrap: after.unwrap - before.unwrap,
    rewrap: after.rewrap - before.rewrap,
  };
}
