import type { DeviceRef } from '../domain/call.events';

/** A device's connection as a node recorded it. */
export interface RecordedConnection {
  readonly tenantId: string;
  readonly device: DeviceRef;
}

/**
 * Which node holds which device's realtime connection, leased: a node renews its records, and a
 * record not renewed in time is its dead node's, to be expired by any other node's sweep.
 *
 * Every adapter guarantees: each method is one statement (`connect` may share its statement with
 * other devices connecting at the same time); `connect` is an upsert (a device connected twice on
 * one node is one record, renewed); `releaseNode` and `expire` remove the
 * records they answer, so two sweeps never both answer the same record.
 */
export interface CallConnections {
  /** Removes and answers every record of the node (an earlier process under its id died). */
  releaseNode(nodeId: string): Promise<RecordedConnection[]>;
  connect(nodeId: string, tenantId: string, device: DeviceRef, at: Date): Promise<void>;
  disconnect(nodeId: string, tenantId: string, device: DeviceRef): Promise<void>;
  /** Whether some node renewed a record of the device at or after `renewedSince`. */
  connectedSince(tenantId: string, device: DeviceRef, renewedSince: Date): Promise<boolean>;
  /** Renews every record of the node. */
  renew(nodeId: string, at: Date): Promise<void>;
  /** Removes and answers the records last renewed before `renewedBefore`. */
  expire(renewedBefore: Date): Promise<RecordedConnection[]>;
}
