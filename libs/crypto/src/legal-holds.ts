import { migrate, type SqlClient, type SqlExecutor } from '@ledgerline/database';
import { ValidationError, isUuid, uuidV7Generator, type IdGenerator } from '@ledgerline/kernel';
import { cryptoMigrations } from './crypto.migrations';
import { assertId } from './key-provider.port';

/** A legal hold: while active, nothing it covers may be shredded. */
export interface LegalHold {
  readonly holdId: string;
  readonly tenantId: string;
  /** Exactly one of `streamId` (that stream) and `streamPrefix` (every stream starting so; '' is the whole tenant). */
  readonly streamId?: string;
  readonly streamPrefix?: string;
  /** Free text for people (a case number, a court order): may be sensitive, so never in errors or logs. */
  readonly reason: string;
  readonly createdAt: Date;
  readonly releasedAt?: Date;
}

export type LegalHoldScope =
  | { readonly tenantId: string; readonly streamId: string; readonly streamPrefix?: undefined }
  | { readonly tenantId: string; readonly streamPrefix: string; readonly streamId?: undefined };

interface HoldRow {
  hold_id: string;
  tenant_id: string;
  stream_id: string | null;
  stream_prefix: string | null;
  reason: string;
  created_at: Date;
  released_at: Date | null;
}

const COLUMNS = `hold_id::text as hold_id, tenant_id, stream_id, stream_prefix, reason, created_at, released_at`;

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

/** The registry of legal holds (table `ll_legal_holds`); releasing keeps the record. */
export class LegalHolds {
  private constructor(
    private readonly client: SqlClient,
    private readonly ids: IdGenerator,
  ) {}

  static async create(client: SqlClient, ids: IdGenerator = uuidV7Generator): Promise<LegalHolds> {
    await migrate(client, 'crypto', cryptoMigrations);
    return new LegalHolds(client, ids);
  }

  async add(scope: LegalHoldScope & { readonly reason: string }): Promise<LegalHold> {
    assertId(scope.tenantId, 'tenantId');
    if ((scope.streamId === undefined) === (scope.streamPrefix === undefined)) {
      throw new ValidationError(
        'a legal hold covers either a streamId or a streamPrefix',
        'streamId',
      );
    }
    if (scope.streamId !== undefined) assertId(scope.streamId, 'streamId');
    if (scope.streamPrefix !== undefined && scope.streamPrefix.length > 512) {
      throw new ValidationError('streamPrefix must be at most 512 characters', 'streamPrefix');
    }
    if (typeof scope.reason !== 'string' || scope.reason.trim().length === 0) {
      throw new ValidationError('a legal hold needs a reason', 'reason');
    }
    const rows = await this.client.transaction(async (tx) => {
      await lockTenantHolds(tx, scope.tenantId);
      return tx.query<HoldRow>(
        `insert into ll_legal_holds (hold_id, tenant_id, stream_id, stream_prefix, reason)
         values ($1, $2, $3, $4, $5) returning ${COLUMNS}`,
        [
          this.ids.next(),
          scope.tenantId,
          scope.streamId ?? null,
          scope.streamPrefix ?? null,
          scope.reason,
        ],
      );
    });
    return toHold(rows[0]!);
  }

  /** Ends a hold (keeping its record); undefined when there is no such hold. Idempotent. */
  async release(holdId: string): Promise<LegalHold | undefined> {
    if (!isUuid(holdId)) return undefined;
    const rows = await this.client.query<HoldRow>(
      `update ll_legal_holds set released_at = coalesce(released_at, now())
       where hold_id = $1 returning ${COLUMNS}`,
      [holdId],
    );
    return rows[0] ? toHold(rows[0]) : undefined;
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
}

function toHold(row: HoldRow): LegalHold {
  return {
    holdId: row.hold_id,
    tenantId: row.tenant_id,
    ...(row.stream_id !== null ? { streamId: row.stream_id } : {}),
    ...(row.stream_prefix !== null ? { streamPrefix: row.stream_prefix } : {}),
    reason: row.reason,
    createdAt: new Date(row.created_at),
    ...(row.released_at ? { releasedAt: new Date(row.released_at) } : {}),
  };
}
