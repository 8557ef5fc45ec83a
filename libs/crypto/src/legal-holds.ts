import { type SqlClient, type SqlExecutor } from '@ledgerline/database';
import { ValidationError, isUuid, uuidV7Generator, type IdGenerator } from '@ledgerline/kernel';
import { assertId } from './key-provider.port';

/**
 * A legal hold: while active, nothing it covers may be shredded. The row holds no free text: the
 * reason for placing (and for releasing) is sealed in the hold's events in the tenant's key
 * stream (libs/ledger KeyLifecycle), which are its history.
 */
export interface LegalHold {
  readonly holdId: string;
  readonly tenantId: string;
  /** Exactly one of `streamId` (that stream) and `streamPrefix` (every stream starting so; '' is the whole tenant). */
  readonly streamId?: string;
  readonly streamPrefix?: string;
  readonly createdAt: Date;
  /** Who placed it (an actor id), when recorded. */
  readonly placedBy?: string;
  /** The `LegalHoldPlaced` event that records it, once written. */
  readonly placedEventId?: string;
  readonly releasedAt?: Date;
  readonly releasedBy?: string;
  readonly releasedEventId?: string;
}

export type LegalHoldScope =
  | { readonly tenantId: string; readonly streamId: string; readonly streamPrefix?: undefined }
  | { readonly tenantId: string; readonly streamPrefix: string; readonly streamId?: undefined };

interface HoldRow {
  hold_id: string;
  tenant_id: string;
  stream_id: string | null;
  stream_prefix: string | null;
  created_at: Date;
  placed_by: string | null;
  placed_event_id: string | null;
  released_at: Date | null;
  released_by: string | null;
  released_event_id: string | null;
}

const COLUMNS = `hold_id::text as hold_id, tenant_id, stream_id, stream_prefix, created_at, placed_by,
  placed_event_id::text as placed_event_id, released_at, released_by,
  released_event_id::text as released_event_id`;

/** SQL condition: an active hold `h` of tenant $1 covering stream $2. */
export const ACTIVE_HOLD_COVERING = `h.tenant_id = $1 and h.released_at is null
  and (h.stream_id = $2 or starts_with($2, h.stream_prefix))`;

/**
 * Serialises placing holds and shredding within a tenant, so a shred never misses a hold placed
 * while it runs: both take this transaction-scoped lock first.
 */
export async function lockTenantHolds(tx: SqlExecutor, tenantId: string): Promise<void> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended('ll_legal_holds/' || $1, 0))`, [
    tenantId,
  ]);
}

/**
 * The registry of legal holds (table `ll_legal_holds`), what shredding checks. Guarantees: a hold
 * is never deleted and only changes forwards (released once, its events noted once), which the
 * database enforces (trigger, crypto migration 3); no free text is written to it.
 */
export class LegalHolds {
  private constructor(
    private readonly client: SqlClient,
    private readonly ids: IdGenerator,
  ) {}

  static create(client: SqlClient, ids: IdGenerator = uuidV7Generator): LegalHolds {
    return new LegalHolds(client, ids);
  }

  async add(scope: LegalHoldScope & { readonly placedBy: string }): Promise<LegalHold> {
    assertId(scope.tenantId, 'tenantId');
    assertId(scope.placedBy, 'placedBy');
    if ((scope.streamId === undefined) === (scope.streamPrefix === undefined)) {
      throw new ValidationError(
        'a legal hold covers either a streamId or a streamPrefix',
        'streamId',
      );
    }
    if (scope.streamId !== undefined) assertId(scope.streamId, 'streamId');
    if (typeof scope.streamPrefix === 'string' && scope.streamPrefix.length > 512) {
      throw new ValidationError('streamPrefix must be at most 512 characters', 'streamPrefix');
    }
    const rows = await this.client.transaction(async (tx) => {
      await lockTenantHolds(tx, scope.tenantId);
      return tx.query<HoldRow>(
        `insert into ll_legal_holds (hold_id, tenant_id, stream_id, stream_prefix, placed_by)
         values ($1, $2, $3, $4, $5) returning ${COLUMNS}`,
        [
          this.ids.next(),
          scope.tenantId,
          scope.streamId ?? null,
          scope.streamPrefix ?? null,
          scope.placedBy,
        ],
      );
    });
    return toHold(rows[0]!);
  }

  /**
   * Ends the tenant's active hold `holdId` (keeping its record); undefined when the tenant has no
   * such active hold (unknown, another tenant's, or released already).
   */
  async release(
    tenantId: string,
    holdId: string,
    releasedBy: string,
  ): Promise<LegalHold | undefined> {
    assertId(tenantId, 'tenantId');
    assertId(releasedBy, 'releasedBy');
    if (!isUuid(holdId)) return undefined;
    const rows = await this.client.query<HoldRow>(
      `update ll_legal_holds set released_at = now(), released_by = $3
       where hold_id = $1 and tenant_id = $2 and released_at is null returning ${COLUMNS}`,
      [holdId, tenantId, releasedBy],
    );
    return rows[0] ? toHold(rows[0]) : undefined;
  }

  /** Notes the event recording the hold's placing or release (each once). */
  async noteEvent(holdId: string, event: 'placed' | 'released', eventId: string): Promise<void> {
    if (!isUuid(holdId) || !isUuid(eventId)) {
      throw new ValidationError('holdId and eventId must be UUIDs', 'eventId');
    }
    const column = event === 'placed' ? 'placed_event_id' : 'released_event_id';
    await this.client.query(
      `update ll_legal_holds set ${column} = $2 where hold_id = $1 and ${column} is null`,
      [holdId, eventId],
    );
  }

  async get(holdId: string): Promise<LegalHold | undefined> {
    if (!isUuid(holdId)) return undefined;
    const rows = await this.client.query<HoldRow>(
      `select ${COLUMNS} from ll_legal_holds where hold_id = $1`,
      [holdId],
    );
    return rows[0] ? toHold(rows[0]) : undefined;
  }

  /** Active holds of the tenant, oldest first; with `streamId`, only those covering that stream. */
  async listActive(tenantId: string, streamId?: string): Promise<LegalHold[]> {
    assertId(tenantId, 'tenantId');
    if (streamId !== undefined) assertId(streamId, 'streamId');
    const rows =
      streamId === undefined
        ? await this.client.query<HoldRow>(
            `select ${COLUMNS} from ll_legal_holds h where h.tenant_id = $1 and h.released_at is null
             order by h.created_at, h.hold_id`,
            [tenantId],
          )
        : await this.client.query<HoldRow>(
            `select ${COLUMNS} from ll_legal_holds h where ${ACTIVE_HOLD_COVERING}
             order by h.created_at, h.hold_id`,
            [tenantId, streamId],
          );
    return rows.map(toHold);
  }

  /**
   * Reasons an earlier version stored in clear, for KeyLifecycle to seal into an event and then
   * `clearLegacyReason`; empty once done.
   */
  async legacyReasons(tenantId?: string): Promise<{ hold: LegalHold; reason: string }[]> {
    if (tenantId !== undefined) assertId(tenantId, 'tenantId');
    const rows = await this.client.query<HoldRow & { reason: string }>(
      `select ${COLUMNS}, reason from ll_legal_holds
       where reason is not null and ($1::text is null or tenant_id = $1)
       order by created_at, hold_id`,
      [tenantId ?? null],
    );
    return rows.map((r) => ({ hold: toHold(r), reason: r.reason }));
  }

  async clearLegacyReason(holdId: string): Promise<void> {
    if (!isUuid(holdId)) return;
    await this.client.query('update ll_legal_holds set reason = null where hold_id = $1', [holdId]);
  }
}

function toHold(row: HoldRow): LegalHold {
  return {
    holdId: row.hold_id,
    tenantId: row.tenant_id,
    ...(row.stream_id !== null ? { streamId: row.stream_id } : {}),
    ...(row.stream_prefix !== null ? { streamPrefix: row.stream_prefix } : {}),
    createdAt: new Date(row.created_at),
    ...(row.placed_by !== null ? { placedBy: row.placed_by } : {}),
    ...(row.placed_event_id !== null ? { placedEventId: row.placed_event_id } : {}),
    ...(row.released_at ? { releasedAt: new Date(row.released_at) } : {}),
    ...(row.released_by !== null ? { releasedBy: row.released_by } : {}),
    ...(row.released_event_id !== null ? { releasedEventId: row.released_event_id } : {}),
  };
}
