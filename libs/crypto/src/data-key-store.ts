import { SqlError, type SqlClient, type SqlExecutor } from '@ledgerline/database';
import { ConflictError, ValidationError, isUuid } from '@ledgerline/kernel';
import { DataKeyNotFoundError, DataKeyShreddedError, LegalHoldError } from './crypto.errors';
import { assertId, type WrappedDataKey } from './key-provider.port';
import { ACTIVE_HOLD_COVERING, lockTenantHolds } from './legal-holds';

/** The data keys of one stream in one retention epoch (e.g. '2026-11'). */
export interface DataKeyScope {
  readonly tenantId: string;
  readonly streamId: string;
  readonly epoch: string;
}

export interface StoredWrap extends WrappedDataKey {
  readonly createdAt: Date;
}

export interface DataKeyRecord extends DataKeyScope {
  readonly keyId: string;
  /** Events sealed (reserved) with this key so far. */
  readonly eventsUsed: number;
  readonly createdAt: Date;
  /** Set when the key stopped taking new events (used up, or shredded). */
  readonly retiredAt?: Date;
  readonly shreddedAt?: Date;
  /** Newest first. Empty once shredded. */
  readonly wraps: readonly StoredWrap[];
}

export interface KekRef {
  readonly kekId: string;
  readonly kekVersion: string;
}

export interface NewDataKey {
  readonly keyId: string;
  readonly scope: DataKeyScope;
  readonly wrapped: WrappedDataKey;
  /** Uses to reserve on the key that ends up active (this one, or one another process made). */
  readonly uses: number;
  readonly maxUses: number;
}

export interface ListKeysOptions {
  /** Resume after this key id (keys come in key id order). */
  readonly afterKeyId?: string;
  readonly limit: number;
  /** Skip keys that already have a wrap under this KEK version (a rotation's target). */
  readonly notWrappedUnder?: KekRef;
}

export interface ShredResult {
  /** Keys shredded by this call (already-shredded ones are not listed again). */
  readonly keyIds: readonly string[];
  readonly wrapsDeleted: number;
}

export interface KekUsage extends KekRef {
  readonly tenantId: string;
  /** Data keys with a wrap under this KEK version. */
  readonly keys: number;
}

export interface KeyCounts {
  /** Taking new events. */
  readonly active: number;
  /** Used up, still readable. */
  readonly retired: number;
  readonly shredded: number;
  /** Not shredded, yet without any wrap: unreadable. Should stay 0. */
  readonly withoutWraps: number;
}

interface KeyRow {
  key_id: string;
  tenant_id: string;
  stream_id: string;
  epoch: string;
  events_used: string | number;
  created_at: Date;
  retired_at: Date | null;
  shredded_at: Date | null;
}

interface WrapRow {
  key_id: string;
  kek_id: string;
  kek_version: string;
  wrapped: Uint8Array;
  created_at: Date;
}

const KEY_COLUMNS = `k.key_id::text as key_id, k.tenant_id, k.stream_id, k.epoch, k.events_used,
  k.created_at, k.retired_at, k.shredded_at`;
const ACTIVE = `k.tenant_id = $1 and k.stream_id = $2 and k.epoch = $3
  and k.retired_at is null and k.shredded_at is null`;

/**
 * Wrapped data keys in PostgreSQL / PGlite (tables `ll_data_keys`, `ll_data_key_wraps`), never in
 * the event log. Guarantees:
 * - `reserveUses` and `insertKey` count events per key atomically in SQL: concurrent sealers
 *   never take a key past `maxUses`, and at most one key per (tenant, stream, epoch) is active.
 * - Wraps are only added (`addWrap`) or swapped in one transaction (`replaceWrap`), so during a
 *   rotation every key keeps at least one wrap that opens it.
 * - `shred` deletes every wrap of the keys it covers, in one transaction that first checks legal
 *   holds under the same lock that placing a hold takes; a shredded key can get no wrap again.
 *
 * Crypto-shredding here destroys the database's copies; PostgreSQL may keep deleted row versions
 * until VACUUM, and backups keep theirs until they expire. The wraps are useless without the KEK,
 * which is why retention also governs backup lifetime.
 */
export class DataKeyStore {
  private constructor(private readonly client: SqlClient) {}

  static create(client: SqlClient): DataKeyStore {
    return new DataKeyStore(client);
  }

  /** The key taking new events for the scope, without reserving anything. */
  async currentKey(scope: DataKeyScope): Promise<DataKeyRecord | undefined> {
    assertScope(scope);
    const rows = await this.client.query<KeyRow>(
      `select ${KEY_COLUMNS} from ll_data_keys k where ${ACTIVE}`,
      [scope.tenantId, scope.streamId, scope.epoch],
    );
    return (await this.withWraps(this.client, rows))[0];
  }

  /**
   * Atomically reserves `uses` events on the scope's active key if it has room for them within
   * `maxUses`; undefined when there is no active key or it is used up (then: generate a key and
   * `insertKey`). The returned `eventsUsed` includes this reservation.
   */
  async reserveUses(
    scope: DataKeyScope,
    uses: number,
    maxUses: number,
  ): Promise<DataKeyRecord | undefined> {
    assertScope(scope);
    assertUses(uses, maxUses);
    const rows = await this.client.query<KeyRow>(
      `update ll_data_keys k set events_used = k.events_used + $4
       where ${ACTIVE} and k.events_used + $4 <= $5
       returning ${KEY_COLUMNS}`,
      [scope.tenantId, scope.streamId, scope.epoch, uses, maxUses],
    );
    return (await this.withWraps(this.client, rows))[0];
  }

  /**
   * Stores a new key as the scope's active key with `uses` reserved, retiring the previous active
   * key. If another process made an active key with room meanwhile, reserves on that one instead
   * and returns `inserted: false`: the caller then discards (and wipes) the key it generated.
   */
  async insertKey(key: NewDataKey): Promise<{ record: DataKeyRecord; inserted: boolean }> {
    assertScope(key.scope);
    assertUses(key.uses, key.maxUses);
    if (!isUuid(key.keyId)) throw new ValidationError('keyId must be a UUID', 'keyId');
    assertWrap(key.wrapped);
    const { tenantId, streamId, epoch } = key.scope;
    return this.client.transaction(async (tx) => {
      // Two rounds at most: the second sees the key a concurrent insert committed.
      for (let round = 0; round < 3; round++) {
        const active = await tx.query<{ key_id: string; events_used: string }>(
          `select k.key_id::text as key_id, k.events_used from ll_data_keys k where ${ACTIVE} for update`,
          [tenantId, streamId, epoch],
        );
        const current = active[0];
        if (current) {
          if (Number(current.events_used) + key.uses <= key.maxUses) {
            await tx.query(
              'update ll_data_keys set events_used = events_used + $2 where key_id = $1',
              [current.key_id, key.uses],
            );
            return { record: await this.mustGet(tx, current.key_id), inserted: false };
          }
          await tx.query('update ll_data_keys set retired_at = now() where key_id = $1', [
            current.key_id,
          ]);
        }
        const inserted = await tx.query<{ key_id: string }>(
          `insert into ll_data_keys (key_id, tenant_id, stream_id, epoch, events_used)
           values ($1, $2, $3, $4, $5)
           on conflict (tenant_id, stream_id, epoch) where retired_at is null and shredded_at is null
           do nothing returning key_id::text as key_id`,
          [key.keyId, tenantId, streamId, epoch, key.uses],
        );
        if (inserted.length === 1) {
          await insertWrap(tx, key.keyId, key.wrapped);
          return { record: await this.mustGet(tx, key.keyId), inserted: true };
        }
      }
      throw new ConflictError(
        `could not install a data key for stream ${streamId} of tenant ${tenantId}; retry`,
      );
    });
  }

  /** The key with its wraps, shredded or not; undefined when there is none with this id. */
  async getKey(keyId: string): Promise<DataKeyRecord | undefined> {
    if (!isUuid(keyId)) return undefined;
    const rows = await this.client.query<KeyRow>(
      `select ${KEY_COLUMNS} from ll_data_keys k where k.key_id = $1`,
      [keyId],
    );
    return (await this.withWraps(this.client, rows))[0];
  }

  /**
   * The tenant's keys that are not shredded, in key id order, `limit` at a time. A rotation job
   * passes the last key id it finished as `afterKeyId` and its target as `notWrappedUnder`, so it
   * can stop at any point and resume without redoing work.
   */
  async listByTenant(tenantId: string, options: ListKeysOptions): Promise<DataKeyRecord[]> {
    assertId(tenantId, 'tenantId');
    if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 10_000) {
      throw new ValidationError('limit must be 1 to 10000', 'limit');
    }
    if (options.afterKeyId !== undefined && !isUuid(options.afterKeyId)) {
      throw new ValidationError('afterKeyId must be a UUID', 'afterKeyId');
    }
    const rows = await this.client.query<KeyRow>(
      `select ${KEY_COLUMNS} from ll_data_keys k
       where k.tenant_id = $1 and k.shredded_at is null
         and ($2::uuid is null or k.key_id > $2::uuid)
         and ($3::text is null or not exists (
           select 1 from ll_data_key_wraps w
            where w.key_id = k.key_id and w.kek_id = $3 and w.kek_version = $4))
       order by k.key_id
       limit $5`,
      [
        tenantId,
        options.afterKeyId ?? null,
        options.notWrappedUnder?.kekId ?? null,
        options.notWrappedUnder?.kekVersion ?? null,
        options.limit,
      ],
    );
    return this.withWraps(this.client, rows);
  }

  /** Adds (or replaces) the key's wrap under `wrapped`'s KEK version; other wraps stay. */
  async addWrap(keyId: string, wrapped: WrappedDataKey): Promise<void> {
    assertWrap(wrapped);
    await this.client.transaction(async (tx) => {
      await lockLiveKey(tx, keyId);
      await insertWrap(tx, keyId, wrapped);
    });
  }

  /** Adds `wrapped` and deletes every other wrap of the key, in one transaction. */
  async replaceWrap(keyId: string, wrapped: WrappedDataKey): Promise<{ removed: number }> {
    assertWrap(wrapped);
    return this.client.transaction(async (tx) => {
      await lockLiveKey(tx, keyId);
      await insertWrap(tx, keyId, wrapped);
      return { removed: await deleteOtherWraps(tx, keyId, wrapped) };
    });
  }

  /** Deletes the key's wraps except the one under `keep`, which must exist. */
  async removeWrapsExcept(keyId: string, keep: KekRef): Promise<{ removed: number }> {
    return this.client.transaction(async (tx) => {
      await lockLiveKey(tx, keyId);
      const kept = await tx.query(
        'select 1 from ll_data_key_wraps where key_id = $1 and kek_id = $2 and kek_version = $3',
        [keyId, keep.kekId, keep.kekVersion],
      );
      if (kept.length === 0) {
        throw new ConflictError(
          `data key ${keyId} has no wrap under KEK ${keep.kekId} version ${keep.kekVersion}; refusing to remove its other wraps`,
        );
      }
      return { removed: await deleteOtherWraps(tx, keyId, keep) };
    });
  }

  /**
   * Destroys every wrap of the stream's keys (of one epoch, or all), marking the keys shredded.
   * Refused with LegalHoldError, shredding nothing, while an active legal hold covers the stream.
   * Idempotent: shredding again finds nothing more to destroy.
   */
  async shred(scope: {
    readonly tenantId: string;
    readonly streamId: string;
    readonly epoch?: string;
  }): Promise<ShredResult> {
    assertId(scope.tenantId, 'tenantId');
    assertId(scope.streamId, 'streamId');
    if (scope.epoch !== undefined) assertEpoch(scope.epoch);
    return this.client.transaction(async (tx) => {
      await lockTenantHolds(tx, scope.tenantId);
      const holds = await tx.query<{ hold_id: string }>(
        `select h.hold_id::text as hold_id from ll_legal_holds h where ${ACTIVE_HOLD_COVERING}
         order by h.created_at, h.hold_id`,
        [scope.tenantId, scope.streamId],
      );
      if (holds.length > 0) {
        throw new LegalHoldError(
          scope.tenantId,
          scope.streamId,
          holds.map((h) => h.hold_id),
        );
      }
      const params = [scope.tenantId, scope.streamId, scope.epoch ?? null];
      const keys = await tx.query<{ key_id: string }>(
        `update ll_data_keys k set shredded_at = now(), retired_at = coalesce(k.retired_at, now())
         where k.tenant_id = $1 and k.stream_id = $2 and ($3::text is null or k.epoch = $3)
           and k.shredded_at is null
         returning k.key_id::text as key_id`,
        params,
      );
      const deleted = await tx.query<{ key_id: string }>(
        `delete from ll_data_key_wraps w using ll_data_keys k
         where w.key_id = k.key_id and k.tenant_id = $1 and k.stream_id = $2
           and ($3::text is null or k.epoch = $3)
         returning w.key_id::text as key_id`,
        params,
      );
      return { keyIds: keys.map((k) => k.key_id).sort(), wrapsDeleted: deleted.length };
    });
  }

  /** How many data keys have a wrap under each KEK version (for `keys status`). */
  async countByKekVersion(tenantId?: string): Promise<KekUsage[]> {
    if (tenantId !== undefined) assertId(tenantId, 'tenantId');
    const rows = await this.client.query<{
      tenant_id: string;
      kek_id: string;
      kek_version: string;
      keys: string | number;
    }>(
      `select k.tenant_id, w.kek_id, w.kek_version, count(*) as keys
       from ll_data_key_wraps w join ll_data_keys k on k.key_id = w.key_id
       where ($1::text is null or k.tenant_id = $1)
       group by k.tenant_id, w.kek_id, w.kek_version
       order by k.tenant_id, w.kek_id, w.kek_version`,
      [tenantId ?? null],
    );
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      kekId: r.kek_id,
      kekVersion: r.kek_version,
      keys: Number(r.keys),
    }));
  }

  async countKeys(tenantId?: string): Promise<KeyCounts> {
    if (tenantId !== undefined) assertId(tenantId, 'tenantId');
    const rows = await this.client.query<Record<keyof KeyCounts, string | number>>(
      `select
         count(*) filter (where k.shredded_at is null and k.retired_at is null) as active,
         count(*) filter (where k.shredded_at is null and k.retired_at is not null) as retired,
         count(*) filter (where k.shredded_at is not null) as shredded,
         count(*) filter (where k.shredded_at is null and not exists (
           select 1 from ll_data_key_wraps w where w.key_id = k.key_id)) as "withoutWraps"
       from ll_data_keys k where ($1::text is null or k.tenant_id = $1)`,
      [tenantId ?? null],
    );
    const r = rows[0]!;
    return {
      active: Number(r.active),
      retired: Number(r.retired),
      shredded: Number(r.shredded),
      withoutWraps: Number(r.withoutWraps),
    };
  }

  private async mustGet(tx: SqlExecutor, keyId: string): Promise<DataKeyRecord> {
    const rows = await tx.query<KeyRow>(
      `select ${KEY_COLUMNS} from ll_data_keys k where k.key_id = $1`,
      [keyId],
    );
    const [record] = await this.withWraps(tx, rows);
    if (!record) throw new DataKeyNotFoundError(`data key ${keyId} does not exist`);
    return record;
  }

  private async withWraps(db: SqlExecutor, rows: KeyRow[]): Promise<DataKeyRecord[]> {
    if (rows.length === 0) return [];
    const wraps = await db.query<WrapRow>(
      `select key_id::text as key_id, kek_id, kek_version, wrapped, created_at
       from ll_data_key_wraps where key_id = any($1::uuid[])
       order by created_at desc, kek_id, kek_version`,
      [rows.map((r) => r.key_id)],
    );
    const byKey = new Map<string, StoredWrap[]>();
    for (const w of wraps) {
      const list = byKey.get(w.key_id) ?? [];
      list.push({
        kekId: w.kek_id,
        kekVersion: w.kek_version,
        blob: new Uint8Array(w.wrapped),
        createdAt: new Date(w.created_at),
      });
      byKey.set(w.key_id, list);
    }
    return rows.map((r) => ({
      keyId: r.key_id,
      tenantId: r.tenant_id,
      streamId: r.stream_id,
      epoch: r.epoch,
      eventsUsed: Number(r.events_used),
      createdAt: new Date(r.created_at),
      ...(r.retired_at ? { retiredAt: new Date(r.retired_at) } : {}),
      ...(r.shredded_at ? { shreddedAt: new Date(r.shredded_at) } : {}),
      wraps: byKey.get(r.key_id) ?? [],
    }));
  }
}

/** Locks the key row against a concurrent shred; refuses a missing or shredded key. */
async function lockLiveKey(tx: SqlExecutor, keyId: string): Promise<void> {
  if (!isUuid(keyId)) throw new DataKeyNotFoundError(`data key ${keyId} does not exist`);
  const rows = await tx.query<{ shredded: boolean }>(
    'select shredded_at is not null as shredded from ll_data_keys where key_id = $1 for share',
    [keyId],
  );
  if (!rows[0]) throw new DataKeyNotFoundError(`data key ${keyId} does not exist`);
  if (rows[0].shredded) throw new DataKeyShreddedError(`data key ${keyId} was shredded`);
}

async function insertWrap(tx: SqlExecutor, keyId: string, wrapped: WrappedDataKey): Promise<void> {
  try {
    await tx.query(
      `insert into ll_data_key_wraps (key_id, kek_id, kek_version, wrapped) values ($1, $2, $3, $4)
       on conflict (key_id, kek_id, kek_version)
       do update set wrapped = excluded.wrapped, created_at = now()`,
      [keyId, wrapped.kekId, wrapped.kekVersion, Buffer.from(wrapped.blob)],
    );
  } catch (error) {
    if (error instanceof SqlError && error.sqlState === 'LL410') {
      throw new DataKeyShreddedError(`data key ${keyId} was shredded`);
    }
    throw error;
  }
}

async function deleteOtherWraps(tx: SqlExecutor, keyId: string, keep: KekRef): Promise<number> {
  const rows = await tx.query(
    `delete from ll_data_key_wraps where key_id = $1 and not (kek_id = $2 and kek_version = $3)
     returning 1`,
    [keyId, keep.kekId, keep.kekVersion],
  );
  return rows.length;
}

function assertScope(scope: DataKeyScope): void {
  assertId(scope.tenantId, 'tenantId');
  assertId(scope.streamId, 'streamId');
  assertEpoch(scope.epoch);
}

function assertEpoch(epoch: unknown): void {
  if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > 64) {
    throw new ValidationError('epoch must be a non-empty string of at most 64 characters', 'epoch');
  }
}

function assertUses(uses: number, maxUses: number): void {
  if (!Number.isInteger(maxUses) || maxUses < 1) {
    throw new ValidationError('maxUses must be a positive integer', 'maxUses');
  }
  if (!Number.isInteger(uses) || uses < 1 || uses > maxUses) {
    throw new ValidationError(`uses must be an integer from 1 to ${maxUses}`, 'uses');
  }
}

function assertWrap(wrapped: WrappedDataKey): void {
  assertId(wrapped.kekId, 'kekId');
  assertId(wrapped.kekVersion, 'kekVersion');
  if (!(wrapped.blob instanceof Uint8Array) || wrapped.blob.length === 0) {
    throw new ValidationError('wrapped data key blob must be non-empty bytes', 'blob');
  }
}
