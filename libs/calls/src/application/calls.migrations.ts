import type { Migration } from '@ledgerline/database';

/**
 * The calls application's own tables (namespace `call-signals`). `ll_call_signals`, the relay's: a signal (SDP, ICE candidate, engine
 * signalling) waits here sealed (AES-256-GCM under a data key of the call's signal stream) until
 * the node holding the target device claims it, which deletes it; what no node claims is dropped
 * when it expires. Only ids and the key reference are in clear.
 */
export const callSignalMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'call-signals',
    sql: `
      create table ll_call_signals (
        signal_id uuid primary key,
        tenant_id text not null,
        call_id text not null,
        to_user text not null,
        to_device text not null,
        key_id text not null,
        sealed bytea not null,
        expires_at timestamptz not null
      );
      create index ll_call_signals_by_device on ll_call_signals (tenant_id, to_user, to_device);
      create index ll_call_signals_expiry on ll_call_signals (expires_at);
    `,
  },
  {
    version: 2,
    name: 'call-connections',
    sql: `
      -- Which node holds a connection of which device, renewed by that node's sweep: the rows of
      -- a node that died expire, and any other node's sweep then disconnects those devices from
      -- their calls (they leave after the grace period unless they come back).
      create table ll_call_connections (
        node_id text not null,
        tenant_id text not null,
        user_id text not null,
        device_id text not null,
        renewed_at timestamptz not null,
        primary key (node_id, tenant_id, user_id, device_id)
      );
      create index ll_call_connections_by_device on ll_call_connections (tenant_id, user_id, device_id);
      create index ll_call_connections_renewed on ll_call_connections (renewed_at);
    `,
  },
];
