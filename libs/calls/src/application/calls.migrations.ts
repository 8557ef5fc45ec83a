import type { Migration } from '@ledgerline/database';

/**
 * The signal relay's table (namespace `call-signals`): a signal (SDP, ICE candidate, engine
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
];
