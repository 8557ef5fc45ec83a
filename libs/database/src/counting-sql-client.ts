import type { SqlClient, SqlExecutor } from './sql-client.port';

/** What the counting decorator reports to (libs/metrics' Metrics has these methods). */
export interface SqlCounter {
  countSqlStatement(kind: 'query' | 'exec' | 'transaction', statements?: number): void;
  countCommit(kind: 'transaction' | 'implicit'): void;
  countRollback(): void;
}

/**
 * A SqlClient that counts what it sends: every `query` and `exec` (inside a transaction or not),
 * each transaction's BEGIN and COMMIT/ROLLBACK as two `transaction` statements, and each commit:
 * `transaction` for an explicit transaction that committed, `implicit` for a statement or script
 * run outside one (PostgreSQL runs it as a transaction of its own and commits it; only one that
 * wrote, such as `select … from ll_append(…)`, flushes the WAL — which the text of a statement
 * cannot tell reliably, so every one is counted). `ping` and `listen` are not counted (health
 * checks and notifications are not the work being measured).
 *
 * Counting happens when the call settles, failed or not: a statement that reached the database
 * is a statement. The port is unchanged, so nothing using the client knows it is counted.
 */
export function countingSqlClient(client: SqlClient, counter: SqlCounter): SqlClient {
  return new CountingSqlClient(client, counter);
}

class CountingExecutor implements SqlExecutor {
  constructor(
    protected readonly inner: SqlExecutor,
    protected readonly counter: SqlCounter,
    private readonly inTransaction: boolean,
  ) {}

  async query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: { readonly name?: string },
  ): Promise<R[]> {
    try {
      return await this.inner.query<R>(text, params, options);
    } finally {
      this.counter.countSqlStatement('query');
      if (!this.inTransaction) this.counter.countCommit('implicit');
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.inner.exec(script);
    } finally {
      this.counter.countSqlStatement('exec');
      if (!this.inTransaction) this.counter.countCommit('implicit');
    }
  }
}

class CountingSqlClient extends CountingExecutor implements SqlClient {
  constructor(
    private readonly client: SqlClient,
    counter: SqlCounter,
  ) {
    super(client, counter, false);
  }

  get kind(): SqlClient['kind'] {
    return this.client.kind;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let committed = false;
    try {
      const result = await this.client.transaction((tx) =>
        fn(new CountingExecutor(tx, this.counter, true)),
      );
      committed = true;
      return result;
    } finally {
      this.counter.countSqlStatement('transaction', 2);
      if (committed) this.counter.countCommit('transaction');
      else this.counter.countRollback();
    }
  }

  listen(channel: string, onNotify: (payload?: string) => void): Promise<() => Promise<void>> {
    return this.client.listen(channel, onNotify);
  }

  ping(): Promise<void> {
    return this.client.ping();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
