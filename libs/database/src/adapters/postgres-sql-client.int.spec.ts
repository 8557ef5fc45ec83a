import { createServer, type Server } from 'node:net';
import { describeWhenEnv, openTestDatabase } from '@ledgerline/testing';
import { Client } from 'pg';
import { DatabaseUnavailableError } from '../sql-errors';
import { PostgresSqlClient } from './postgres-sql-client.adapter';

describe('PostgresSqlClient when the database is not there', () => {
  it('fails fast at connect with a typed error naming the host, never the password', async () => {
    const started = Date.now();
    const error = await PostgresSqlClient.connect({
      connectionString: 'postgres://app:s3cret@127.0.0.1:1/ledger',
      connectTimeoutMs: 2_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toContain('127.0.0.1:1/ledger');
    expect((error as Error).message).not.toContain('s3cret');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('gives up on a server that accepts but never answers, instead of hanging', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await PostgresSqlClient.connect({
        connectionString: `postgres://app@127.0.0.1:${port}/ledger`,
        connectTimeoutMs: 500,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      silent.close();
    }
  });
});

describeWhenEnv(
  'TEST_DATABASE_URL',
  'PostgresSqlClient when connections are killed mid-run',
  () => {
    it('raises a retryable error for the broken call, then works again on fresh connections', async () => {
      const db = await openTestDatabase('postgres');
      const admin = new Client({ connectionString: db.url });
      await admin.connect();
      try {
        const marker = `select pg_sleep(5) -- ${Math.random()}`;
        const slow = db.client.query(marker);
        await new Promise((r) => setTimeout(r, 200));
        const killed = await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where query = $1',
          [marker],
        );
        expect(killed.rowCount).toBe(1);
        await expect(slow).rejects.toBeInstanceOf(DatabaseUnavailableError);
        await expect(db.client.query('select 1 as ok')).resolves.toEqual([{ ok: 1 }]);
      } finally {
        await admin.end();
        await db.close();
      }
    });
  },
);
