import { Client, Pool, types, type PoolClient } from 'pg';
import type { SqlClient, SqlExecutor } from '../sql-client.port';
import { DatabaseUnavailableError, toSqlError } from '../sql-errors';

// int8 and xid8 come back as strings (the port's contract); the pg default is already string for
// int8, and xid8 (OID 5069) has no parser, so it is a string too. Keep jsonb and bytea parsing.
types.setTypeParser(types.builtins.INT8, (v: string) => v);

export interface PostgresOptions {
  readonly connectionString: string;
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
  /** Called with a PHI-free description when an idle connection or the listener fails. */
  readonly onBackgroundError?: (what: string, error: unknown) => void;
}

/** `host:port/db` of a connection string, without user or password, for error messages. */
export function describeDatabase(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

class PgExecutor implements SqlExecutor {
  constructor(private readonly target: Pool | PoolClient) {}

  async query<R>(
    text: string,
    params: readonly unknown[] = [],
    options?: { name?: string },
  ): Promise<R[]> {
    try {
      const result = await this.target.query({
        text,
        values: params as unknown[],
        name: options?.name,
      });
      return result.rows as R[];
    } catch (error) {
      throw toSqlError(error);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.target.query(script);
    } catch (error) {
      throw toSqlError(error);
    }
  }
}

export class PostgresSqlClient extends PgExecutor implements SqlClient {
  readonly kind = 'postgres' as const;
  private readonly listeners = new Map<string, Set<(payload?: string) => void>>();
  private listenClient: Client | undefined;
  private listenConnecting: Promise<void> | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly pool: Pool,
    private readonly options: PostgresOptions,
  ) {
    super(pool);
  }

  /** Opens a pool and proves the database answers; a database that is down fails fast, by name. */
  static async connect(options: PostgresOptions): Promise<PostgresSqlClient> {
    const pool = new Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
    });
    // Without a handler an idle client's error would crash the process.
    pool.on('error', (error) =>
      options.onBackgroundError?.('idle PostgreSQL connection failed', error),
    );
    const client = new PostgresSqlClient(pool, options);
    try {
      await client.ping();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new DatabaseUnavailableError(
        `PostgreSQL at ${describeDatabase(options.connectionString)} is unreachable`,
        { cause: error },
      );
    }
    return client;
  }

  async ping(): Promise<void> {
    await this.query('select 1');
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let conn: PoolClient;
    try {
      conn = await this.pool.connect();
    } catch (error) {
      throw toSqlError(error);
    }
    let broken = false;
    // The pool stops listening for errors on a client it has handed out: one the server drops
    // between two statements (a restart, pg_terminate_backend) would otherwise crash the process.
    // The statement after it fails (a retryable error) and the client is discarded, not reused.
    const onError = () => {
      broken = true;
    };
    conn.on('error', onError);
    try {
      await conn.query('begin');
      const result = await fn(new PgExecutor(conn));
      await conn.query('commit');
      return result;
    } catch (error) {
      try {
        await conn.query('rollback');
      } catch {
        broken = true;
      }
      throw toSqlError(error);
    } finally {
      conn.off('error', onError);
      conn.release(broken);
    }
  }

  async listen(
    channel: string,
    onNotify: (payload?: string) => void,
  ): Promise<() => Promise<void>> {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
    let set = this.listeners.get(channel);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(onNotify);
    await this.ensureListenClient();
    if (isNew && this.listenClient)
      await this.listenClient.query(`listen ${channel}`).catch(() => undefined);
    return async () => {
      set.delete(onNotify);
      if (set.size === 0) {
        this.listeners.delete(channel);
        await this.listenClient?.query(`unlisten ${channel}`).catch(() => undefined);
      }
    };
  }

  private ensureListenClient(): Promise<void> {
    if (this.listenClient || this.closed) return Promise.resolve();
    this.listenConnecting ??= this.openListenClient().finally(() => {
      this.listenConnecting = undefined;
    });
    return this.listenConnecting;
  }

  private async openListenClient(): Promise<void> {
    const client = new Client({
      connectionString: this.options.connectionString,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
    });
    client.on('notification', (msg) => {
      for (const fn of this.listeners.get(msg.channel) ?? []) fn(msg.payload ?? '');
    });
    client.on('error', (error) => {
      this.options.onBackgroundError?.('PostgreSQL notification connection failed', error);
      this.dropListenClient(client);
    });
    client.on('end', () => this.dropListenClient(client));
    try {
      await client.connect();
      for (const channel of this.listeners.keys()) await client.query(`listen ${channel}`);
      this.listenClient = client;
      // Anything committed while we were not listening is caught by one wake-up of every listener.
      for (const set of this.listeners.values()) for (const fn of set) fn();
    } catch (error) {
      await client.end().catch(() => undefined);
      this.options.onBackgroundError?.('PostgreSQL notification connection failed', error);
      this.scheduleReconnect();
    }
  }

  private dropListenClient(client: Client): void {
    if (this.listenClient !== client) return;
    this.listenClient = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer || this.listeners.size === 0) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.ensureListenClient();
    }, 1_000);
    this.reconnectTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const listener = this.listenClient;
    this.listenClient = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}
