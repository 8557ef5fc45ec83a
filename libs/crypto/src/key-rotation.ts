import { KekNotFoundError } from './crypto.errors';
import type { DataKeyStore, KekRef } from './data-key-store';
import type { KeyProvider } from './key-provider.port';
import type { TenantKeks } from './tenant-keks';

export interface RotationProgress {
  readonly phase: 'rewrap' | 'prune';
  /** Keys handled so far in this phase by this run. */
  readonly done: number;
}

export interface RotationResult {
  readonly tenantId: string;
  readonly kekId: string;
  /** The KEK version every data key of the tenant is now wrapped under. */
  readonly toVersion: string;
  /** True when this run made a new KEK version current; false when it finished an earlier run. */
  readonly newVersion: boolean;
  /**
   * `rotated`: a new KEK (version) became current; `finished`: an earlier run was interrupted, or
   * data keys were made under the previous KEK while it ran, and this run re-wrapped them;
   * `unchanged`: the provider's KEK is the recorded one already (AWS KMS with the same key).
   */
  readonly outcome: 'rotated' | 'finished' | 'unchanged';
  readonly rewrapped: number;
  /** Older wraps deleted once every key had its new one. */
  readonly pruned: number;
}

export interface RotationOptions {
  readonly batchSize?: number;
  readonly onProgress?: (progress: RotationProgress) => void;
  /**
   * Where the tenant's current KEK is recorded (ADR 0018): the rotation records its target there
   * before re-wrapping, so every process wraps new keys under it from then on.
   */
  readonly keks?: TenantKeks;
  /** Who the record names (an operator). */
  readonly recordedBy?: string;
}

/**
 * Re-wraps every data key of a tenant under a new KEK version. No event is touched: only rows of
 * the data-key store change. Safe to interrupt and run again:
 * - a new KEK version is made only when every key is already wrapped under the current one;
 *   otherwise the run finishes the rotation a crash interrupted;
 * - keys already wrapped under the target are skipped (the store's `notWrappedUnder`);
 * - old wraps are deleted only after every key has its new wrap, so old and new wraps both open
 *   keys throughout.
 */
export async function rotateTenantKeys(
  provider: KeyProvider,
  store: DataKeyStore,
  tenantId: string,
  options: RotationOptions = {},
): Promise<RotationResult> {
  const batchSize = options.batchSize ?? 500;
  let to: KekRef;
  let outcome: RotationResult['outcome'];
  if (options.keks) {
    ({ to, outcome } = await recordedTarget(provider, store, options.keks, tenantId, options));
  } else {
    let target = await currentKek(provider, tenantId);
    const pending = target
      ? await store.listByTenant(tenantId, { limit: 1, notWrappedUnder: target })
      : [];
    outcome = 'finished';
    if (!target || pending.length === 0) {
      const rotation = await provider.rotateKek(tenantId);
      target = { kekId: rotation.kek.kekId, kekVersion: rotation.kek.currentVersion };
      outcome = rotation.created ? 'rotated' : 'finished';
    }
    to = target;
  }
  const newVersion = outcome === 'rotated';

  let rewrapped = 0;
  for (;;) {
    // Keys done leave the `notWrappedUnder` set, so each page starts from the first left.
    const page = await store.listByTenant(tenantId, { limit: batchSize, notWrappedUnder: to });
    if (page.length === 0) break;
    for (const record of page) {
      const source = record.wraps[0];
      if (!source) continue; // shredded meanwhile: nothing left to re-wrap
      const wrapped = await provider.rewrap(
        source,
        { tenantId, streamId: record.streamId },
        { kekId: to.kekId, kekVersion: to.kekVersion },
      );
      await store.addWrap(record.keyId, wrapped);
      rewrapped += 1;
    }
    options.onProgress?.({ phase: 'rewrap', done: rewrapped });
  }

  let pruned = 0;
  let handled = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.listByTenant(tenantId, { limit: batchSize, afterKeyId: after });
    if (page.length === 0) break;
    for (const record of page) {
      if (record.wraps.length > 1)
        pruned += (await store.removeWrapsExcept(record.keyId, to)).removed;
      after = record.keyId;
    }
    handled += page.length;
    options.onProgress?.({ phase: 'prune', done: handled });
  }
  return {
    tenantId,
    kekId: to.kekId,
    toVersion: to.kekVersion,
    newVersion,
    outcome,
    rewrapped,
    pruned,
  };
}

/**
 * The rotation's target with the current KEK recorded in the database: the recorded KEK when data
 * keys are still wrapped otherwise (finish the earlier run), else the provider's next KEK (a new
 * local ring version, or the KMS key the configuration names now), recorded as current first.
 */
async function recordedTarget(
  provider: KeyProvider,
  store: DataKeyStore,
  keks: TenantKeks,
  tenantId: string,
  options: RotationOptions,
): Promise<{ to: KekRef; outcome: RotationResult['outcome'] }> {
  const recorded = await keks.current(tenantId);
  if (recorded) {
    const pending = await store.listByTenant(tenantId, { limit: 1, notWrappedUnder: recorded });
    if (pending.length > 0) return { to: recorded, outcome: 'finished' };
  }
  const rotation = await provider.rotateKek(tenantId);
  const next: KekRef = { kekId: rotation.kek.kekId, kekVersion: rotation.kek.currentVersion };
  if (recorded && recorded.kekId === next.kekId && recorded.kekVersion === next.kekVersion) {
    return { to: next, outcome: 'unchanged' };
  }
  await keks.record(tenantId, next, options.recordedBy ?? 'rotation');
  return { to: next, outcome: 'rotated' };
}

async function currentKek(provider: KeyProvider, tenantId: string): Promise<KekRef | undefined> {
  try {
    const kek = await provider.describeKek(tenantId);
    return { kekId: kek.kekId, kekVersion: kek.currentVersion };
  } catch (error) {
    if (error instanceof KekNotFoundError) return undefined;
    throw error;
  }
}
