import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import type { SqlClient, SqlExecutor } from '../sql-client.port';
import { toSqlError } from '../sql-errors';

// Match the pg adapter: int8 as decimal strings (callers turn them into bigint).
const parsers = { [types.INT8]: (value: string) => value };

/**
 * PGlite runs each statement synchronously (WASM) on the main thread and resolves its promise at
 * once, so a loop of awaited statements (a projection catching up, a command's transaction) is
 * one long chain of microtasks: sockets are not read and timers do not fire until it ends, for
 * seconds on a busy machine, and clients' frames then arrive in bunches. Before a statement, once
 * the main thread has run PGlite's work for longer than this without a turn of the event loop,
 * it gives the event loop that turn (setImmediate: pending I/O and timers run first).
 */
const SLICE_MS = 10;
let sliceStart = performance.now();

async function eventLoopTurn(): Promise<void> {
  if (performance.now() - sliceStart < SLICE_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  sliceStart = performance.now();
}

class PgliteExecutor implements SqlExecutor {
  constructor(private readonly target: PGlite | Transaction) {}

  async query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    await eventLoopTurn();
    try {
      const result = await this.target.query<R>(text, params as unknown[]);
      return result.rows;
    } catch (error) {
      throw toSqlError(error);
    }
  }

  async exec(script: string): Promise<void> {
    await eventLoopTurn();
    try {
      await this.target.exec(script);
    } catch (error) {
      throw toSqlError(error);
    }
  }
}

/**
 * Embedded PostgreSQL (PGlite, WASM) in one process: the default when no DATABASE_URL is given.
 * It has a single connection, so transactions run one at a time; that is the trade for needing
 * nothing but Node.js.
 */
export class PgliteSqlClient extends PgliteExecutor implements SqlClient {
  readonly kind = 'pglite' as const;

  private constructor(
    private readonly db: PGlite,
    private readonly onClose: () => Promise<void>,
  ) {
    super(db);
  }

  /**
   * `dataDir` persists to that directory; undefined keeps everything in memory (tests). `onClose`
   * runs once the database is closed (e.g. to release the directory's lock).
   */
  static async open(
    dataDir?: string,
    options: { readonly onClose?: () => Promise<void> } = {},
  ): Promise<PgliteSqlClient> {
    const db = await PGlite.create({ dataDir, parsers });
    return new PgliteSqlClient(db, options.onClose ?? (() => Promise.resolve()));
  }

  async ping(): Promise<void> {
    await this.query('select 1');
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction((tx) => fn(new PgliteExecutor(tx)));
    } catch (error) {
      throw toSqlError(error);
    }
  }

  async listen(
    channel: string,
    onNotify: (payload?: string) => void,
  ): Promise<() => Promise<void>> {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
    const unlisten = await this.db.listen(channel, (payload) => onNotify(payload ?? ''));
    return async () => {
      if (!this.db.closed) await unlisten();
    };
  }

  async close(): Promise<void> {
    if (this.db.closed) return;
    await this.db.close();
    await this.onClose();
  }
}
