import type { SqlExecutor } from '@ledgerline/database';
import type { DeviceRef } from '../domain/call.events';
import type { CallConnections, RecordedConnection } from '../application/call-connections.port';

interface ConnectionRow {
  tenant_id: string;
  user_id: string;
  device_id: string;
}

/** CallConnections over `ll_call_connections`. */
export class SqlCallConnections implements CallConnections {
  constructor(private readonly client: SqlExecutor) {}

  async releaseNode(nodeId: string): Promise<RecordedConnection[]> {
    const stale = await this.client.query<ConnectionRow>(
      `delete from ll_call_connections where node_id = $1 returning tenant_id, user_id, device_id`,
      [nodeId],
    );
    return stale.map(recordedOf);
  }

  async connect(nodeId: string, tenantId: string, device: DeviceRef, at: Date): Promise<void> {
    await this.client.query(
      `insert into ll_call_connections (node_id, tenant_id, user_id, device_id, renewed_at)
         values ($1, $2, $3, $4, $5)
         on conflict (node_id, tenant_id, user_id, device_id) do update set renewed_at = $5`,
      [nodeId, tenantId, device.userId, device.deviceId, at],
    );
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
