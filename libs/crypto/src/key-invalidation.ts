import { ChannelListener, type SqlClient, type SqlExecutor } from '@ledgerline/database';
import type { DataKeys } from './data-keys';
import { assertId } from './key-provider.port';

/**
 * The PostgreSQL notification channel on which key changes reach every process. Payloads are
 * JSON with ids only (never PHI, never key material), at most a few hundred bytes:
 * - `{"v":1,"k":"keys","t":tenant,"s":stream,"ids":[keyId…]}`: these data keys were shredded.
 *   Sent by a trigger on `ll_data_keys` in the shredding transaction (crypto migration 2), so
 *   every shred notifies, whichever process or tool ran it, and only once it committed.
 * - `{"v":1,"k":"tenant","t":tenant}`: the tenant's KEK was rotated (its wraps changed).
 */
export const KEY_INVALIDATION_CHANNEL = 'll_key_invalidation';

/** What a process must stop trusting in memory. */
export type KeyInvalidation =
  | {
      /** These data keys were shredded: drop them, and anything opened or decided with them. */
      readonly kind: 'keys';
      readonly tenantId: string;
      readonly streamId: string;
      readonly keyIds: readonly string[];
    }
  | {
      /** The tenant's KEK was rotated: drop its cached keys (they are unwrapped again). */
      readonly kind: 'tenant';
      readonly tenantId: string;
    }
  | {
      /**
       * The channel (re)connected, or a notification could not be read: anything may have been
       * missed, so drop everything.
       */
      readonly kind: 'all';
    };

/** Where invalidations are reported: ids and counts only. */
export interface KeyInvalidationLog {
  log(fields: Record<string, unknown>): void;
  warn(fields: Record<string, unknown>): void;
}

const SILENT: KeyInvalidationLog = { log: () => undefined, warn: () => undefined };

/** Parses a payload of the channel; undefined when it is not one this build understands. */
export function parseKeyInvalidation(payload: string): KeyInvalidation | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v['v'] !== 1 || typeof v['t'] !== 'string' || v['t'].length === 0) return undefined;
  if (v['k'] === 'tenant') return { kind: 'tenant', tenantId: v['t'] };
  if (v['k'] !== 'keys' || typeof v['s'] !== 'string' || v['s'].length === 0) return undefined;
  const ids = v['ids'];
  if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string')) {
    return undefined;
  }
  return { kind: 'keys', tenantId: v['t'], streamId: v['s'], keyIds: ids };
}

/**
 * Follows the key-invalidation channel for this process: on each notification it drops the keys
 * from the DataKeys cache, then tells every subscriber (conversation states and any other
 * in-memory copy of what those keys opened or decided). When the listening connection
 * (re)connects it drops the whole cache and tells subscribers `all`, since notifications sent
 * while it was away are lost; the same for a payload it cannot read (fail closed).
 *
 * Guarantees: a shred committed anywhere reaches every listening process as soon as PostgreSQL
 * delivers the notification (milliseconds), and a lookup that was under way when it arrived does
 * not cache the key again (`DataKeys.forget` revokes). While the connection is down the process
 * cannot hear shreds; it drops everything when it is back (at most about a second later, the
 * SqlClient's reconnect delay), and the cache's maximum age bounds the worst case.
 */
export class KeyInvalidations {
  private readonly subscribers = new Set<(invalidation: KeyInvalidation) => void>();
  private readonly log: KeyInvalidationLog;
  private readonly listener: ChannelListener;
  /** Notifications handled, for tests and metrics. */
  received = 0;

  constructor(
    private readonly client: Pick<SqlClient, 'listen' | 'query'>,
    private readonly dataKeys: Pick<DataKeys, 'forget' | 'forgetTenant' | 'forgetAll'>,
    options: { readonly log?: KeyInvalidationLog } = {},
  ) {
    this.listener = new ChannelListener(this.client, KEY_INVALIDATION_CHANNEL, (payload) =>
      this.onNotify(payload),
    );
    this.log = options.log ?? SILENT;
  }

  /** Starts listening (idempotent); resolves once the channel is listened to. */
  start(): Promise<void> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener.stop();
  }

  /** Tells every process (this one included) that the tenant's KEK was rotated. */
  announceKekRotated(tenantId: string): Promise<void> {
    return announceKekRotated(this.client, tenantId);
  }

  /** Calls `fn` for every invalidation this process hears, after the key cache has dropped it. */
  subscribe(fn: (invalidation: KeyInvalidation) => void): () => void {
    this.subscribers.add(fn);
    return () => {
      this.subscribers.delete(fn);
    };
  }

  /** Applies an invalidation here (the cache, then subscribers). Listening calls this. */
  apply(invalidation: KeyInvalidation): void {
    this.received += 1;
    switch (invalidation.kind) {
      case 'keys':
        this.dataKeys.forget(
          { tenantId: invalidation.tenantId, streamId: invalidation.streamId },
          invalidation.keyIds,
        );
        this.log.log({
          tenantId: invalidation.tenantId,
          streamId: invalidation.streamId,
          keys: invalidation.keyIds.length,
          msg: 'shredded data keys dropped from memory',
        });
        break;
      case 'tenant':
        this.log.log({
          tenantId: invalidation.tenantId,
          keys: this.dataKeys.forgetTenant(invalidation.tenantId),
          msg: 'data keys of a rotated KEK dropped from memory',
        });
        break;
      case 'all': {
        const dropped = this.dataKeys.forgetAll();
        if (dropped > 0) {
          this.log.log({
            keys: dropped,
            msg: 'key-invalidation channel (re)connected: every cached data key dropped',
          });
        }
        break;
      }
    }
    for (const fn of this.subscribers) {
      try {
        fn(invalidation);
      } catch (error) {
        this.log.warn({
          kind: invalidation.kind,
          error: error instanceof Error ? error.name : typeof error,
          msg: 'a key-invalidation subscriber failed',
        });
      }
    }
  }

  private onNotify(payload: string | undefined): void {
    if (payload === undefined) {
      this.apply({ kind: 'all' });
      return;
    }
    const invalidation = parseKeyInvalidation(payload);
    if (!invalidation) {
      this.log.warn({ msg: 'unreadable key-invalidation notification: dropping every cached key' });
    }
    this.apply(invalidation ?? { kind: 'all' });
  }
}

/**
 * Tells every process the tenant's KEK was rotated; on `tx`, the notification goes out when (and
 * only if) that transaction commits.
 */
export async function announceKekRotated(
  db: Pick<SqlExecutor, 'query'>,
  tenantId: string,
): Promise<void> {
  assertId(tenantId, 'tenantId');
  await db.query('select pg_notify($1, $2)', [
    KEY_INVALIDATION_CHANNEL,
    JSON.stringify({ v: 1, k: 'tenant', t: tenantId }),
  ]);
}
