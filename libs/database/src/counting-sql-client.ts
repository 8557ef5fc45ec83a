import type { SqlClient, SqlExecutor } from './sql-client.port';

/** What the counting decorator reports to (libs/metrics' Metrics has these methods). */
export interface SqlCounter {
  countSqlStatement(kind: 'query' | 'exec' | 'transaction', statements?: number): void;
  countCommit(kind: 'transaction' | 'autocommit'): void;
  countRollback(): void;
}

// A statement that cannot write: outside a transaction it commits nothing durable.
const READ_ONLY = /^\s*(select|show|values|explain|set|listen|unlisten|notify)\b/i;
const WRITES = /\b(insert|update|delete|merge|create|alter|drop|truncate|grant|revoke|lock)\b/i;

function writes(text: string): boolean {
  if (READ_ONLY.test(text)) return false;
  // `with … select` reads; `with … insert/update/delete` writes.
  if (/^\s*with\b/i.test(text)) return WRITES.test(text);
  return true;
}

/**
 * A SqlClient that counts what it sends: every `query` and `exec` (inside a transaction or not),
 * each transaction's BEGIN and COMMIT/ROLLBACK as two `transaction` statements, and each durable
 * commit — a transaction that committed, or a writing statement or script run outside a
 * transaction (PostgreSQL commits it on its own). `ping` and `listen` are not counted (health
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
      if (!this.inTransaction && writes(text)) this.counter.countCommit('autocommit');
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.inner.exec(script);
    } finally {
      this.counter.countSqlStatement('exec');
      if (!this.inTransaction && writes(script)) this.counter.countCommit('autocommit');
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
