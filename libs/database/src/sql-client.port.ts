/**
 * The one way Ledgerline talks SQL, to PostgreSQL (`pg`) or to embedded PGlite. Both adapters speak
 * the same PostgreSQL dialect, so every lib writes its SQL once.
 *
 * Every adapter guarantees:
 * - `query` runs one statement with `$n` parameters and returns its rows; `name` asks for a
 *   prepared statement where the driver supports one.
 * - `exec` runs a parameterless script of several statements.
 * - `transaction` runs `fn` on one connection inside BEGIN/COMMIT and rolls back if it throws.
 * - `listen` calls `onNotify` for each committed NOTIFY on the channel, in order, with the
 *   notification's payload (`''` when it had none), until the returned function is called. It also
 *   calls it with no payload (`undefined`) whenever its connection (re)connects: notifications may
 *   have been missed meanwhile. A listener that only needs a wake-up may ignore the argument.
 * - Connection failures surface as `UnavailableError` (retryable); SQL failures as `SqlError`
 *   carrying the SQLSTATE. Neither message ever includes parameter values or row data.
 * - int8 and xid8 values are returned as strings; bytea as Uint8Array; jsonb as parsed JSON.
 */
export interface SqlClient extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  listen(channel: string, onNotify: (payload?: string) => void): Promise<() => Promise<void>>;
  /** Resolves when the database answers; throws UnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface SqlExecutor {
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: { readonly name?: string },
  ): Promise<R[]>;
  exec(script: string): Promise<void>;
}
