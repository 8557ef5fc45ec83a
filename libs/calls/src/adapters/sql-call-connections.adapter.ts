import type { SqlClient } from '@ledgerline/database';
import { GroupCommit, type PendingItem } from '@ledgerline/kernel';
import type { DeviceRef } from '../domain/call.events';
import type { CallConnections, RecordedConnection } from '../application/call-connections.port';

interface ConnectionRow {
  tenant_id: string;
  user_id: string;
  device_id: string;
}

interface Connecting {
  readonly nodeId: string;
  readonly tenantId: string;
  readonly device: DeviceRef;
  readonly at: Date;
}

/** Devices connecting together (a crowd reconnecting) are recorded in one statement per group. */
const CONNECTS_PER_STATEMENT = 500;

/** CallConnections over `ll_call_connections`. */
export class SqlCallConnections implements CallConnections {
  private readonly connects: GroupCommit<Connecting, void>;

  constructor(private readonly client: SqlClient) {
    this.connects = new GroupCommit((group) => this.connectGroup(group), {
      maxInFlight: client.kind === 'pglite' ? 1 : 2,
      maxItems: CONNECTS_PER_STATEMENT,
      // Rows locked in one order, so two groups in flight cannot deadlock.
      order: (a, b) => compareKeys(keyOf(a), keyOf(b)),
    });
  }

  async releaseNode(nodeId: string): Promise<RecordedConnection[]> {
    const stale = await this.client.query<ConnectionRow>(
      `delete from ll_call_connections where node_id = $1 returning tenant_id, user_id, device_id`,
      [nodeId],
    );
    return stale.map(recordedOf);
  }

  /** An upsert, sent with the other devices connecting meanwhile (one statement per group). */
  connect(nodeId: string, tenantId: string, device: DeviceRef, at: Date): Promise<void> {
    return this.connects.submit({ nodeId, tenantId, device, at });
  }

  private async connectGroup(group: readonly PendingItem<Connecting, void>[]): Promise<void> {
    // A device named twice in a group is recorded once, at its later time.
    const byKey = new Map<string, Connecting>();
    for (const { item } of group) byKey.set(JSON.stringify(keyOf(item)), item);
    const rows = [...byKey.values()];
    await this.client.query(
      `insert into ll_call_connections (node_id, tenant_id, user_id, device_id, renewed_at)
         select n, t, u, d, a
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
           as v(n, t, u, d, a)
         on conflict (node_id, tenant_id, user_id, device_id)
           do update set renewed_at = excluded.renewed_at`,
      [
        rows.map((r) => r.nodeId),
        rows.map((r) => r.tenantId),
        rows.map((r) => r.device.userId),
        rows.map((r) => r.device.deviceId),
        rows.map((r) => r.at.toISOString()),
      ],
    );
    for (const pending of group) pending.resolve();
  }

  async disconnect(nodeId: string, tenantId: string, device: DeviceRef): Promise<void> {
    await this.client.query(
      `delete from ll_call_connections
         where node_id = $1 and tenant_id = $2 and user_id = $3 and device_id = $4`,
      [nodeId, tenantId, device.userId, device.deviceId],
    );
  }

  async connectedSince(tenantId: string, device: DeviceRef, renewedSince: Date): Promise<boolean> {
    const rows = await this.client.query(
      `select 1 from ll_call_connections
       where tenant_id = $1 and user_id = $2 and device_id = $3 and renewed_at >= $4 limit 1`,
      [tenantId, device.userId, device.deviceId, renewedSince],
    );
    return rows.length > 0;
  }

  async renew(nodeId: string, at: Date): Promise<void> {
    await this.client.query(`update ll_call_connections set renewed_at = $2 where node_id = $1`, [
      nodeId,
      at,
    ]);
  }

  async expire(renewedBefore: Date): Promise<RecordedConnection[]> {
    const expired = await this.client.query<ConnectionRow>(
      `delete from ll_call_connections where renewed_at < $1
       returning tenant_id, user_id, device_id`,
      [renewedBefore],
    );
    return expired.map(recordedOf);
  }
}

function recordedOf(row: ConnectionRow): RecordedConnection {
  return { tenantId: row.tenant_id, device: { userId: row.user_id, deviceId: row.device_id } };
}

function keyOf(c: Connecting): readonly string[] {
  return [c.nodeId, c.tenantId, c.device.userId, c.device.deviceId];
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return 0;
}
