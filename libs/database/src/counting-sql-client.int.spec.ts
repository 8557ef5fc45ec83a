import { Metrics } from '@ledgerline/metrics';
import { availableDatabases, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { countingSqlClient } from './counting-sql-client';
import type { SqlClient } from './sql-client.port';
import { SqlError } from './sql-errors';

/** A counter's value for one label set (0 when absent). */
async function value(metrics: Metrics, name: string, labels: Record<string, string> = {}) {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return found?.value ?? 0;
}

for (const kind of availableDatabases()) {
  describe(`countingSqlClient on ${kind}`, () => {
    let db: TestDatabase;
    let metrics: Metrics;
    let client: SqlClient;
    const statements = (k: string) =>
      value(metrics, 'ledgerline_sql_statements_total', { kind: k });
    const commits = (k: string) => value(metrics, 'ledgerline_sql_commits_total', { kind: k });

    beforeAll(async () => {
      db = await openTestDatabase(kind);
      await db.client.exec('create table ll_counted (id int primary key, note text)');
    });
    afterAll(async () => {
      await db?.close();
    });
    beforeEach(() => {
      metrics = new Metrics({ defaultMetrics: false });
      client = countingSqlClient(db.client, metrics);
    });

    it('counts each query and exec, and each as an implicit commit outside a transaction', async () => {
      expect(client.kind).toBe(kind);
      await client.query('insert into ll_counted (id, note) values ($1, $2)', [1, 'a']);
      expect(await client.query('select note from ll_counted where id = $1', [1])).toEqual([
        { note: 'a' },
      ]);
      await client.query('with x as (select 1) select * from x');
      await client.query(
        'with moved as (update ll_counted set note = $1 where id = $2 returning id) select id from moved',
        ['b', 1],
      );
      await client.exec('update ll_counted set note = note; select 1');
      expect(await statements('query')).toBe(4);
      expect(await statements('exec')).toBe(1);
      expect(await statements('transaction')).toBe(0);
      // Each ran as a transaction of its own.
      expect(await commits('implicit')).toBe(5);
      expect(await commits('transaction')).toBe(0);
    });

    it('counts the statements inside a transaction, its BEGIN and COMMIT, and one commit', async () => {
      const n = await client.transaction(async (tx) => {
        await tx.query('insert into ll_counted (id, note) values ($1, $2)', [2, 'c']);
        await tx.query('insert into ll_counted (id, note) values ($1, $2)', [3, 'd']);
        await tx.exec('update ll_counted set note = upper(note) where id > 1');
        const rows = await tx.query<{ n: number }>(
          'select count(*)::int as n from ll_counted where id > 1',
        );
        return rows[0]!.n;
      });
      expect(n).toBe(2);
      expect(await statements('query')).toBe(3);
      expect(await statements('exec')).toBe(1);
      expect(await statements('transaction')).toBe(2);
      expect(await commits('transaction')).toBe(1);
      // Nothing inside the transaction committed on its own.
      expect(await commits('implicit')).toBe(0);
      expect(await value(metrics, 'ledgerline_sql_rollbacks_total')).toBe(0);
    });

    it('counts a failed statement, and a transaction that rolled back as a rollback, not a commit', async () => {
      await expect(
        client.transaction(async (tx) => {
          await tx.query('insert into ll_counted (id, note) values ($1, $2)', [10, 'e']);
          await tx.query('insert into ll_counted (id, note) values ($1, $2)', [10, 'dup']);
        }),
      ).rejects.toBeInstanceOf(SqlError);
      expect(await client.query('select id from ll_counted where id = 10')).toEqual([]);
      expect(await statements('query')).toBe(3);
      expect(await statements('transaction')).toBe(2);
      expect(await commits('transaction')).toBe(0);
      expect(await commits('implicit')).toBe(1); // the select after it
      expect(await value(metrics, 'ledgerline_sql_rollbacks_total')).toBe(1);
    });

    it('does not count pings', async () => {
      await client.ping();
      expect(await statements('query')).toBe(0);
    });
  });
}
