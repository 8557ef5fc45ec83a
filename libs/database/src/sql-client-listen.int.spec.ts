import { availableDatabases, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { PostgresSqlClient } from './adapters/postgres-sql-client.adapter';

/** Collects what a listener is handed, and waits for it. */
class Received {
  readonly payloads: string[] = [];
  wakeUps = 0;
  readonly onNotify = (payload?: string) => {
    // No payload: the listening connection (re)connected and anything may have been missed.
    if (payload === undefined) this.wakeUps += 1;
    else this.payloads.push(payload);
  };
  async atLeast(n: number): Promise<string[]> {
    const until = Date.now() + 10_000;
    while (this.payloads.length < n) {
      if (Date.now() > until) throw new Error(`received only ${JSON.stringify(this.payloads)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.payloads;
  }
}

for (const kind of availableDatabases()) {
  describe(`SqlClient.listen on ${kind}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await openTestDatabase(kind);
    });
    afterAll(async () => {
      await db?.close();
    });

    it('hands each notification its payload, in order, and only what was committed', async () => {
      const received = new Received();
      const old = new Received(); // a listener written before payloads existed still works
      const stop = await db.client.listen('ll_test_payloads', received.onNotify);
      const stopOld = await db.client.listen('ll_test_payloads', () => old.onNotify(''));
      await db.client.query(`select pg_notify('ll_test_payloads', $1)`, ['{"id":"a-1"}']);
      await db.client.exec('notify ll_test_payloads');
      await db.client
        .transaction(async (tx) => {
          await tx.query(`select pg_notify('ll_test_payloads', 'rolled-back')`);
          throw new Error('abort');
        })
        .catch(() => undefined);
      await db.client.transaction(async (tx) => {
        await tx.query(`select pg_notify('ll_test_payloads', 'committed')`);
      });
      await db.client.query(`select pg_notify('ll_test_other', 'elsewhere')`);
      expect(await received.atLeast(3)).toEqual(['{"id":"a-1"}', '', 'committed']);
      await old.atLeast(3);

      await stop();
      await stopOld();
      await db.client.query(`select pg_notify('ll_test_payloads', 'after-stop')`);
      // A later notification on a channel still listened to shows the stopped ones got nothing.
      const later = new Received();
      const stopLater = await db.client.listen('ll_test_payloads', later.onNotify);
      await db.client.query(`select pg_notify('ll_test_payloads', 'last')`);
      expect(await later.atLeast(1)).toEqual(['last']);
      await stopLater();
      expect(received.payloads).toEqual(['{"id":"a-1"}', '', 'committed']);
    });

    if (kind === 'postgres') {
      it('delivers a payload sent from another client (another node) on the same database', async () => {
        const other = await PostgresSqlClient.connect({ connectionString: db.url! });
        try {
          const received = new Received();
          const stop = await db.client.listen('ll_test_nodes', received.onNotify);
          await other.query(`select pg_notify('ll_test_nodes', $1)`, ['from-node-b']);
          expect(await received.atLeast(1)).toEqual(['from-node-b']);
          await stop();
        } finally {
          await other.close();
        }
      });
    }
  });
}
