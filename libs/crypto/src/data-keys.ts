import { LRUCache } from 'lru-cache';
import { ValidationError, uuidV7Generator, type IdGenerator } from '@ledgerline/kernel';
import { DataKeyNotFoundError, DataKeyShreddedError, KekNotFoundError } from './crypto.errors';
import type { DataKeyCache } from './data-key-cache';
import type { DataKeyRecord, DataKeyScope, DataKeyStore, ShredResult } from './data-key-store';
import type { KeyContext, KeyProvider } from './key-provider.port';

export interface DataKeysOptions {
  /** Events sealed with one key before a new one is made (LEDGERLINE_DEK_MAX_EVENTS). */
  readonly maxEventsPerDataKey: number;
  /**
   * Uses reserved in the database at a time and handed out from memory (default 128): a sealer
   * pays one reservation per block, not one per event. Uses a process reserved and did not seal
   * before it stopped are never handed out again: the count can only run ahead of the events.
   */
  readonly reservationBlock?: number;
  readonly ids?: IdGenerator;
}

/** Uses of one key this process has reserved: `used` of them handed out, up to `end`. */
interface Lease {
  readonly record: DataKeyRecord;
  used: number;
  readonly end: number;
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
  /** Bounded: a scope's block not used for a while is simply reserved anew. */
  private readonly leases = new LRUCache<string, Lease>({ max: 10_000 });
  private readonly reserving = new Map<string, Promise<void>>();
  private readonly block: number;

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
    this.block = Math.min(options.reservationBlock ?? 128, options.maxEventsPerDataKey);
  }

  /**
   * The key to seal the next `events` events of the stream in this epoch with, from this process's
   * reserved block of uses when it has room, else from a new reservation (one statement per block).
   */
  async sealingKey(scope: DataKeyScope, events = 1): Promise<SealingKey> {
    const max = this.options.maxEventsPerDataKey;
    if (!Number.isInteger(events) || events < 1 || events > max) {
      throw new ValidationError(`events must be an integer from 1 to ${max}`, 'events');
    }
    const context = { tenantId: scope.tenantId, streamId: scope.streamId };
    const lk = leaseKey(scope);
    for (;;) {
      const lease = this.leases.get(lk);
      if (lease && lease.end - lease.used >= events) {
        lease.used += events;
        return {
          keyId: lease.record.keyId,
          key: await this.load(lease.record, context, events),
          eventsUsed: lease.used,
        };
      }
      // One reservation per scope at a time; the others wait for it and take from its block.
      const pending = this.reserving.get(lk);
      if (pending) {
        await pending.catch(() => undefined);
        continue;
      }
      const reservation = this.reserve(scope, Math.max(events, this.block)).then((next) => {
        this.leases.set(lk, next);
      });
      this.reserving.set(lk, reservation);
      try {
        await reservation;
      } finally {
        this.reserving.delete(lk);
      }
    }
  }

  /** Reserves `uses` on the scope's active key (or fewer, down to what one seal needs: 1). */
  private async reserve(scope: DataKeyScope, uses: number): Promise<Lease> {
    const max = this.options.maxEventsPerDataKey;
    const context = { tenantId: scope.tenantId, streamId: scope.streamId };
    const reserved = await this.store.reserveUses(scope, uses, max);
    if (reserved)
      return { record: reserved, used: reserved.eventsUsed - uses, end: reserved.eventsUsed };
    const generated = await this.provider.generateDataKey(context);
    let installed: { record: DataKeyRecord; inserted: boolean };
    try {
      installed = await this.store.insertKey({
        keyId: this.ids.next(),
        scope,
        wrapped: generated.wrapped,
        uses,
        maxUses: max,
      });
    } catch (error) {
      generated.plaintext.fill(0);
      throw error;
    }
    const { record } = installed;
    if (installed.inserted) this.cache.set(cacheKey(context, record.keyId), generated.plaintext);
    // Another sealer installed a key first; ours was never stored.
    else generated.plaintext.fill(0);
    return { record, used: record.eventsUsed - uses, end: record.eventsUsed };
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
    this.forget(scope, result.keyIds);
    return result;
  }

  /**
   * Drops keys from this process's cache and reserved blocks (e.g. when another process shredded
   * them), and keeps a lookup already under way from caching them again: nothing more is sealed
   * or opened with them here.
   */
  forget(context: KeyContext, keyIds: readonly string[]): void {
    const gone = new Set(keyIds);
    for (const keyId of keyIds) this.cache.revoke(cacheKey(context, keyId));
    for (const [lk, lease] of [...this.leases.entries()])
      if (gone.has(lease.record.keyId)) this.leases.delete(lk);
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
    for (const [lk, lease] of [...this.leases.entries()])
      if (lease.record.tenantId === tenantId) this.leases.delete(lk);
    return this.cache.deleteWhere((ck) => (JSON.parse(ck) as string[])[0] === tenantId);
  }

  /** Drops every cached key (the invalidation channel reconnected: it may have missed some). */
  forgetAll(): number {
    const dropped = this.cache.size;
    this.cache.clear();
    this.leases.clear();
    return dropped;
  }
}

function leaseKey(scope: DataKeyScope): string {
  return JSON.stringify([scope.tenantId, scope.streamId, scope.epoch]);
}

function cacheKey(context: KeyContext, keyId: string): string {
  return JSON.stringify([context.tenantId, context.streamId, keyId]);
}
