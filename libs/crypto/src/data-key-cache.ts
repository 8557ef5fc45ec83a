import { LRUCache } from 'lru-cache';
import { ValidationError } from '@ledgerline/kernel';

export interface DataKeyCacheLimits {
  /** Keys held at most; the least recently used goes first. */
  readonly maxKeys: number;
  /** A key is dropped this long after it was cached, however often it is used. */
  readonly maxAgeMs: number;
  /** A key is dropped once it has been handed out this many times. */
  readonly maxUses: number;
}

/** Revocations remembered at least this many, so a burst of shreds cannot push one out early. */
const MIN_REVOCATIONS = 10_000;

interface Entry {
  readonly key: Buffer;
  uses: number;
}

/**
 * Unwrapped data keys in memory, so the KeyProvider is called once per key rather than once per
 * event. Bounded by count (LRU), age since caching, and number of uses; whatever leaves the cache
 * (evicted, expired, used up, deleted, cleared) is overwritten with zeros at once. Expired keys are
 * purged by timer, not only when next looked up.
 *
 * The cache owns the buffers given to `set`; `get` hands out a copy the caller owns (and should
 * wipe when done), so an eviction never zeroes a key in the middle of an encryption.
 *
 * Wiping is best effort: V8 may have copied bytes elsewhere, and the key also existed in the
 * provider's response before it reached here.
 */
export class DataKeyCache {
  private readonly cache: LRUCache<string, Entry>;
  /** Keys revoked (shredded elsewhere) recently: `set` refuses them, see `revoke`. */
  private readonly revoked: LRUCache<string, true>;

  constructor(
    private readonly limits: DataKeyCacheLimits,
    /** Time source for ages (tests pass a manual clock); defaults to performance.now(). */
    now?: () => number,
  ) {
    for (const [field, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ValidationError(`${field} must be a positive integer`, field);
      }
    }
    this.cache = new LRUCache<string, Entry>({
      max: limits.maxKeys,
      ttl: limits.maxAgeMs,
      ttlAutopurge: true,
      ttlResolution: 0,
      updateAgeOnGet: false,
      allowStale: false,
      dispose: (entry) => entry.key.fill(0),
      ...(now ? { perf: { now } } : {}),
    });
    this.revoked = new LRUCache<string, true>({
      max: Math.max(MIN_REVOCATIONS, limits.maxKeys * 4),
      ttl: limits.maxAgeMs,
      ttlAutopurge: true,
      ...(now ? { perf: { now } } : {}),
    });
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * A copy of the key, counting `uses` uses (e.g. the events about to be sealed); undefined when
   * absent, expired, or the uses would pass `maxUses` (the entry is then dropped and wiped).
   */
  get(keyId: string, uses = 1): Buffer | undefined {
    const entry = this.cache.get(keyId);
    if (!entry) return undefined;
    if (entry.uses + uses > this.limits.maxUses) {
      this.cache.delete(keyId);
      return undefined;
    }
    entry.uses += uses;
    return Buffer.from(entry.key);
  }

  /**
   * Caches `key`, taking ownership of the buffer (it is wiped when it leaves the cache). A key
   * revoked within the cache's maximum age is not cached (its buffer is wiped at once).
   */
  set(keyId: string, key: Buffer): void {
    if (this.revoked.has(keyId)) {
      key.fill(0);
      return;
    }
    if (this.cache.get(keyId)?.key === key) return;
    this.cache.set(keyId, { key, uses: 0 });
  }

  has(keyId: string): boolean {
    return this.cache.has(keyId);
  }

  delete(keyId: string): void {
    this.cache.delete(keyId);
  }

  /** Drops and wipes every key (shutdown, or a lost invalidation channel). */
  clear(): void {
    this.cache.clear();
  }

  /**
   * Drops the key and refuses to cache it again for the cache's maximum age: for a key shredded
   * (possibly by another process) while a lookup of it was already under way here, whose result
   * would otherwise be cached after the drop and served until it expired.
   */
  revoke(keyId: string): void {
    this.revoked.set(keyId, true);
    this.cache.delete(keyId);
  }

  /** Drops (and wipes) every key whose cache key matches; how many were dropped. */
  deleteWhere(matches: (keyId: string) => boolean): number {
    let dropped = 0;
    for (const keyId of [...this.cache.keys()]) {
      if (!matches(keyId)) continue;
      this.cache.delete(keyId);
      dropped += 1;
    }
    return dropped;
  }
}
