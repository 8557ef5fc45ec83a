import { type SqlClient } from '@ledgerline/database';
import type { KekRef } from './data-key-store';
import { assertId } from './key-provider.port';

/** A tenant's current KEK as recorded, and since when. */
export interface RecordedKek extends KekRef {
  readonly tenantId: string;
  readonly recordedAt: Date;
  /** Who made it current: an operator, or `first-use` (recorded by the first data key). */
  readonly recordedBy: string;
}

interface Row {
  tenant_id: string;
  kek_id: string;
  kek_version: string;
  recorded_at: Date;
  recorded_by: string;
}

/**
 * Where each tenant's current KEK lives: the database (`ll_tenant_keks`, append-only, one row per
 * change), so every process wraps new data keys under the same KEK whatever its own configuration
 * says, and follows a rotation at once (ADR 0018). The provider's configuration only decides the
 * first KEK of a tenant (recorded by its first data key) and the target of `keys rotate`.
 */
export class TenantKeks {
  private constructor(private readonly client: SqlClient) {}

  static create(client: SqlClient): TenantKeks {
    return new TenantKeks(client);
  }

  async current(tenantId: string): Promise<RecordedKek | undefined> {
    assertId(tenantId, 'tenantId');
    const rows = await this.client.query<Row>(
      `select tenant_id, kek_id, kek_version, recorded_at, recorded_by from ll_tenant_keks
       where tenant_id = $1 order by seq desc limit 1`,
      [tenantId],
    );
    return rows[0] ? toRecorded(rows[0]) : undefined;
  }

  /** Every change of the tenant's current KEK, oldest first. */
  async history(tenantId: string): Promise<RecordedKek[]> {
    assertId(tenantId, 'tenantId');
    const rows = await this.client.query<Row>(
      `select tenant_id, kek_id, kek_version, recorded_at, recorded_by from ll_tenant_keks
       where tenant_id = $1 order by seq`,
      [tenantId],
    );
    return rows.map(toRecorded);
  }

  /**
   * Makes `kek` the tenant's current KEK (nothing is written when it already is). With
   * `onlyIfNone`, only when the tenant has none yet (a first data key racing another process's
   * keeps whichever was recorded first). Returns the tenant's current KEK afterwards.
   */
  async record(
    tenantId: string,
    kek: KekRef,
    recordedBy: string,
    options: { readonly onlyIfNone?: boolean } = {},
  ): Promise<RecordedKek> {
    assertId(tenantId, 'tenantId');
    assertId(kek.kekId, 'kekId');
    assertId(kek.kekVersion, 'kekVersion');
    assertId(recordedBy, 'recordedBy');
    return this.client.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(hashtextextended('ll_tenant_keks/' || $1, 0))`, [
        tenantId,
      ]);
      const [latest] = await tx.query<Row>(
        `select tenant_id, kek_id, kek_version, recorded_at, recorded_by from ll_tenant_keks
         where tenant_id = $1 order by seq desc limit 1`,
        [tenantId],
      );
      const unchanged =
        latest && latest.kek_id === kek.kekId && latest.kek_version === kek.kekVersion;
      if (latest && (unchanged || options.onlyIfNone)) return toRecorded(latest);
      const [row] = await tx.query<Row>(
        `insert into ll_tenant_keks (tenant_id, kek_id, kek_version, recorded_by)
         values ($1, $2, $3, $4)
         returning tenant_id, kek_id, kek_version, recorded_at, recorded_by`,
        [tenantId, kek.kekId, kek.kekVersion, recordedBy],
      );
      return toRecorded(row!);
    });
  }
}

function toRecorded(row: Row): RecordedKek {
  return {
    tenantId: row.tenant_id,
    kekId: row.kek_id,
    kekVersion: row.kek_version,
    recordedAt: new Date(row.recorded_at),
    recordedBy: row.recorded_by,
  };
}
