import { ValidationError, uuidV7Generator, type IdGenerator } from '@ledgerline/kernel';
import { DataKeyNotFoundError, DataKeyShreddedError, KekNotFoundError } from './crypto.errors';
import type { DataKeyCache } from './data-key-cache';
import type { DataKeyRecord, DataKeyScope, DataKeyStore, ShredResult } from './data-key-store';
import type { KeyContext, KeyProvider } from './key-provider.port';

export interface DataKeysOptions {
  /** Events sealed with one key before a new one is made (LEDGERLINE_DEK_MAX_EVENTS). */
  readonly maxEventsPerDataKey: number;
  readonly ids?: IdGenerator;
}

export interface SealingKey {
  readonly keyId: string;
  /** 32 bytes the caller owns: wipe them once the events are sealed. */
  readonly key: Buffer;
  /** Events counted on this key so far, this reservation included. */
  readonly eventsUsed: number;
}

/**
 * The data keys sealing and opening ask for: the KeyProvider, the data-key store and the cache
 * together. The provider is called when a key is made or first opened, not per event.
 *
 * - `sealingKey` reserves events on the scope's current key, atomically in SQL, and makes a new
 *   key (wrapped by the tenant's current KEK) when there is none or it is used up.
 * - `openingKey` returns the key an event names, for the tenant and stream it must belong to,
 *   trying its wraps newest first (during a rotation old and new wraps both work).
 * - `shred` destroys the stream's wraps (unless a legal hold covers it) and drops the keys from
 *   this process's cache; other processes drop them when the shred's notification reaches them
 *   (KeyInvalidations, key-invalidation.ts), and at the latest within the cache's maximum age.
 */
export class DataKeys {
  private readonly ids: IdGenerator;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly lookups = new Map<string, Promise<DataKeyRecord>>();

  constructor(
    private readonly provider: KeyProvider,
    private readonly store: DataKeyStore,
    private readonly cache: DataKeyCache,
    private readonly options: DataKeysOptions,
  ) {
    if (!Number.isInteger(options.maxEventsPerDataKey) || options.maxEventsPerDataKey < 1) {
      throw new ValidationError(
        'maxEventsPerDataKey must be a positive integer',
        'maxEventsPerDataKey',
      );
    }
    this.ids = options.ids ?? uuidV7Generator;
  }

  /** The key to seal the next `events` events of the stream in this epoch with. */
  async sealingKey(scope: DataKeyScope, events = 1): Promise<SealingKey> {
    const max = this.options.maxEventsPerDataKey;
    if (!Number.isInteger(events) || events < 1 || events > max) {
      throw new ValidationError(`events must be an integer from 1 to ${max}`, 'events');
    }
    const context = { tenantId: scope.tenantId, streamId: scope.streamId };
    const reserved = await this.store.reserveUses(scope, events, max);
    if (reserved) {
      return {
        keyId: reserved.keyId,
        key: await this.load(reserved, context, events),
        eventsUsed: reserved.eventsUsed,
      };
    }
    const generated = await this.provider.generateDataKey(context);
    let installed: { record: DataKeyRecord; inserted: boolean };
    try {
      installed = await this.store.insertKey({
        keyId: this.ids.next(),
        scope,
        wrapped: generated.wrapped,
        uses: events,
        maxUses: max,
      });
    } catch (error) {
      generated.plaintext.fill(0);
      throw error;
    }
    const { record } = installed;
    if (!installed.inserted) {
      // Another sealer installed a key first; ours was never stored.
      generated.plaintext.fill(0);
      return {
        keyId: record.keyId,
        key: await this.load(record, context, events),
        eventsUsed: record.eventsUsed,
      };
    }
    const key = Buffer.from(generated.plaintext);
    this.cache.set(cacheKey(context, record.keyId), generated.plaintext);
    return { keyId: record.keyId, key, eventsUsed: record.eventsUsed };
  }

  /** The key `keyId` of this tenant's stream, for opening events; the caller owns (and wipes) it. */
  async openingKey(keyId: string, context: KeyContext): Promise<Buffer> {
    const ck = cacheKey(context, keyId);
    const hit = this.cache.get(ck);
    if (hit) return hit;
    // A page of events under one key asks for it many times at once: look it up once.
    let pending = this.lookups.get(ck);
    if (!pending) {
      pending = this.lookUp(keyId, context).finally(() => this.lookups.delete(ck));
      this.lookups.set(ck, pending);
    }
    return this.load(await pending, context, 1);
  }

  private async lookUp(keyId: string, context: KeyContext): Promise<DataKeyRecord> {
    const record = await this.store.getKey(keyId);
    if (!record || record.tenantId !== context.tenantId || record.streamId !== context.streamId) {
      throw new DataKeyNotFoundError(
        `no data key ${keyId} for stream ${context.streamId} of tenant ${context.tenantId}`,
      );
    }
    if (record.shreddedAt) {
      throw new DataKeyShreddedError(
        `data key ${keyId} of stream ${context.streamId} (tenant ${context.tenantId}) was shredded at ${record.shreddedAt.toISOString()}`,
      );
    }
    return record;
  }

  /** Shreds the stream's data keys (of one epoch, or all) and drops them from this cache. */
  async shred(scope: {
    readonly tenantId: string;
    readonly streamId: string;
    readonly epoch?: string;
  }): Promise<ShredResult> {
    const result = await this.store.shred(scope);
    for (const keyId of result.keyIds) this.cache.revoke(cacheKey(scope, keyId));
    return result;
  }

  /**
   * Drops keys from this process's cache (e.g. when another process shredded them), and keeps a
   * lookup already under way from caching them again.
   */
  forget(context: KeyContext, keyIds: readonly string[]): void {
    for (const keyId of keyIds) this.cache.revoke(cacheKey(context, keyId));
  }

  /** From the cache, else unwrapped once however many callers ask at the same time. */
  private async load(record: DataKeyRecord, context: KeyContext, uses: number): Promise<Buffer> {
    const ck = cacheKey(context, record.keyId);
    const hit = this.cache.get(ck, uses);
    if (hit) return hit;
    let pending = this.inflight.get(ck);
    if (!pending) {
      pending = this.unwrapRecord(record, context)
        .then((plaintext) => this.cache.set(ck, plaintext))
        .finally(() => this.inflight.delete(ck));
      this.inflight.set(ck, pending);
    }
    await pending;
    // Normally cached now; if the cache's limits could not keep it, unwrap for this caller alone.
    return this.cache.get(ck, uses) ?? this.unwrapRecord(record, context);
  }

  private async unwrapRecord(record: DataKeyRecord, context: KeyContext): Promise<Buffer> {
    if (record.wraps.length === 0) {
      throw new DataKeyNotFoundError(`data key ${record.keyId} has no wrap left to open it with`);
    }
    let missing: unknown;
    for (const wrap of record.wraps) {
      try {
        return await this.provider.unwrap(wrap, context);
      } catch (error) {
        // A wrap under a KEK version the provider no longer has: try the next one.
        if (!(error instanceof KekNotFoundError)) throw error;
        missing = error;
      }
    }
    throw missing;
  }

  /** Drops every cached key of the tenant (after its KEK was rotated); how many were dropped. */
  forgetTenant(tenantId: string): number {
    return this.cache.deleteWhere((ck) => (JSON.parse(ck) as string[])[0] === tenantId);
  }

  /** Drops every cached key (the invalidation channel reconnected: it may have missed some). */
  forgetAll(): number {
    const dropped = this.cache.size;
    this.cache.clear();
    return dropped;
  }
}

function cacheKey(context: KeyContext, keyId: string): string {
  return JSON.stringify([context.tenantId, context.streamId, keyId]);
}
