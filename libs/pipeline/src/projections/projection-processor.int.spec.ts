import { randomUUID } from 'node:crypto';
import { migrateSchema, type SqlClient, type SqlExecutor } from '@ledgerline/database';
import { comparePositions, type GlobalPosition } from '@ledgerline/kernel';
import type { OpenedEvent } from '@ledgerline/ledger';
import { pipelineManifest } from '../manifest';
import { availableDatabases, openLedgerFixture, type LedgerFixture } from '@ledgerline/testing';
import type { Projection } from './projection';
import { ProjectionProcessor, type ProjectionLog } from './projection-processor';

/**
 * A read model of its own for each test: one row per `note` event of its stream prefix, holding
 * the payload's `n`. `failOn` makes apply throw on that `n` (a bug), until cleared.
 */
function noteProjection(prefix: string, table: string) {
  const projection = {
    failOn: undefined as number | undefined,
    applies: 0,
    name: `notes-${table}`,
    streamPrefixes: [prefix],
    tables: [table],
    async apply(tx: SqlExecutor, event: OpenedEvent) {
      projection.applies += 1;
      if (event.body.status !== 'available') return;
      const { n } = JSON.parse(event.body.payload.toString('utf8')) as { n: number };
      if (n === projection.failOn) throw new Error(`cannot project note ${n}`);
      await tx.query(`insert into ${table} (stream_id, n) values ($1, $2)`, [event.streamId, n]);
    },
  } satisfies Projection & { failOn: number | undefined; applies: number };
  return projection;
}

class CollectedLog implements ProjectionLog {
  readonly errors: Record<string, unknown>[] = [];
  warn(): void {}
  error(fields: Record<string, unknown>): void {
    this.errors.push(fields);
  }
}

/** Counts transactions the processor commits (the batch, not the event, is the unit). */
function countingTransactions(client: SqlClient): { client: SqlClient; commits: () => number } {
  let commits = 0;
  const counted = Object.create(client) as SqlClient;
  counted.transaction = async (fn) => {
    const result = await client.transaction(fn);
    commits += 1;
    return result;
  };
  return { client: counted, commits: () => commits };
}

for (const kind of availableDatabases()) {
  describe(`projection processor on ${kind}`, () => {
    let f: LedgerFixture;
    const running: ProjectionProcessor[] = [];

    beforeAll(async () => {
      f = await openLedgerFixture(kind);
      await migrateSchema(f.db.client, pipelineManifest.schema!);
    });
    afterEach(async () => {
      for (const p of running.splice(0)) await p.stop();
    });
    afterAll(async () => {
      await f?.close();
    });

    async function table(): Promise<string> {
      const name = `notes_${randomUUID().slice(0, 8)}`;
      await f.db.client.exec(
        `create table ${name} (stream_id text not null, n integer not null, primary key (stream_id, n))`,
      );
      return name;
    }

    async function note(streamId: string, ns: readonly number[]): Promise<GlobalPosition> {
      const result = await f.ledger.append(
        'tenant-p',
        streamId,
        ns.map((n) => ({
          eventId: randomUUID(),
          type: 'NoteWritten',
          schemaVersion: 1,
          metadata: {},
          payload: Buffer.from(JSON.stringify({ n })),
        })),
        'any',
      );
      return result.position;
    }

    async function processor(
      client: SqlClient,
      log = new CollectedLog(),
      batchMax = 256,
    ): Promise<ProjectionProcessor> {
      const p = ProjectionProcessor.create(client, f.ledger, {
        log,
        batchMax,
        restartDelayMs: 20,
        maxRestartDelayMs: 100,
      });
      running.push(p);
      return p;
    }

    const rows = async (t: string) =>
      (await f.db.client.query<{ n: number }>(`select n from ${t} order by n`)).map((r) =>
        Number(r.n),
      );

    it('reads each event once for every projection, and commits a batch in one transaction', async () => {
      const [ta, tb] = [await table(), await table()];
      const prefix = `pa${randomUUID().slice(0, 6)}:`;
      const a = noteProjection(prefix, ta);
      const b = noteProjection(prefix, tb);
      let last: GlobalPosition | undefined;
      for (let i = 0; i < 10; i++) {
        last = await note(`${prefix}s${i % 3}`, [i * 10, i * 10 + 1, i * 10 + 2]);
      }
      const counted = countingTransactions(f.db.client);
      const p = await processor(counted.client);
      p.register(a);
      p.register(b);
      p.start();
      await p.waitFor(last!, { timeoutMs: 30_000 });
      const expected = Array.from({ length: 30 }, (_, i) => Math.floor(i / 3) * 10 + (i % 3));
      expect(await rows(ta)).toEqual(expected);
      expect(await rows(tb)).toEqual(expected);
      expect(a.applies).toBe(30);
      expect(b.applies).toBe(30);
      // 30 events, two read models: one batch, one transaction for both (two when an open
      // transaction elsewhere in the cluster hid the last appends from the first read).
      expect(counted.commits()).toBeLessThanOrEqual(2);
      const status = p.status();
      expect(status.map((s) => s.name).sort()).toEqual([a.name, b.name].sort());
      expect(status.every((s) => s.checkpoint && comparePositions(s.checkpoint, last!) === 0)).toBe(
        true,
      );
    });

    it('stops a projection that throws alone, at the event, with an alert; the others go on', async () => {
      const [ta, tb] = [await table(), await table()];
      const prefix = `pb${randomUUID().slice(0, 6)}:`;
      const good = noteProjection(prefix, ta);
      const bad = noteProjection(prefix, tb);
      bad.failOn = 3;
      await note(`${prefix}x`, [1, 2, 3, 4]);
      const log = new CollectedLog();
      const p = await processor(f.db.client, log);
      p.register(good);
      p.register(bad);
      p.start();
      const more = await note(`${prefix}y`, [5]);
      await p.waitFor(more, { names: [good.name], timeoutMs: 30_000 });
      expect(await rows(ta)).toEqual([1, 2, 3, 4, 5]);
      // Everything before the event it failed on, nothing from it on.
      expect(await rows(tb)).toEqual([1, 2]);
      const alert = log.errors.find((e) => e['alert'] === true)!;
      expect(alert).toMatchObject({ projection: bad.name, alert: true });
      expect(typeof alert['position']).toBe('string');
      expect(JSON.stringify(log.errors)).not.toContain('cannot project'); // never the error text
      // Kept for operators: the last stop, and where.
      const [stop] = await f.db.client.query<{ failure_code: string; at: string }>(
        `select failure_code, failure_commit::text || '.' || failure_prepare as at
           from ll_projections where name = $1`,
        [bad.name],
      );
      expect(stop).toEqual({ failure_code: 'projection_error', at: alert['position'] });
      // Fixed (a new build): it is retried from its checkpoint and catches up, nothing skipped.
      bad.failOn = undefined;
      await p.waitFor(more, { names: [bad.name], timeoutMs: 30_000 });
      expect(await rows(tb)).toEqual([1, 2, 3, 4, 5]);
    });

    it('takes a batch in one applyBatch; when it throws, one event at a time pins the failure', async () => {
      const [ta, tb] = [await table(), await table()];
      const prefix = `pd${randomUUID().slice(0, 6)}:`;
      /** Writes a batch in one multi-row insert, and throws on the batch holding `failOn`. */
      const batching = (t: string) => {
        const base = noteProjection(prefix, t);
        const projection = {
          ...base,
          name: `batches-${t}`,
          batches: [] as number[],
          failOn: undefined as number | undefined,
          apply: (tx: SqlExecutor, event: OpenedEvent) => {
            base.failOn = projection.failOn;
            return base.apply(tx, event);
          },
          async applyBatch(tx: SqlExecutor, events: readonly OpenedEvent[]) {
            const ns = events.map(
              (e) =>
                (
                  JSON.parse((e.body as { payload: Buffer }).payload.toString('utf8')) as {
                    n: number;
                  }
                ).n,
            );
            if (projection.failOn !== undefined && ns.includes(projection.failOn)) {
              throw new Error('the batch path failed');
            }
            projection.batches.push(events.length);
            await tx.query(
              `insert into ${t} (stream_id, n) select * from unnest($1::text[], $2::integer[])`,
              [events.map((e) => e.streamId), ns],
            );
          },
        } satisfies Projection & { batches: number[]; failOn: number | undefined };
        return projection;
      };
      const whole = batching(ta);
      const broken = batching(tb);
      broken.failOn = 3;
      const first = await note(`${prefix}x`, [1, 2, 3, 4]);
      const log = new CollectedLog();
      const p = await processor(f.db.client, log);
      p.register(whole);
      p.register(broken);
      p.start();
      await p.waitFor(first, { names: [whole.name], timeoutMs: 30_000 });
      expect(await rows(ta)).toEqual([1, 2, 3, 4]);
      // One call for the whole batch in each attempt of the transaction (the broken one's failures
      // roll the attempts back; only the last commits).
      expect(whole.batches.length).toBeGreaterThan(0);
      expect(whole.batches.every((n) => n === 4)).toBe(true);
      // The batch path threw: one at a time, 1 and 2 went in and it stopped at 3, alone.
      expect(await rows(tb)).toEqual([1, 2]);
      expect(log.errors.find((e) => e['alert'] === true)).toMatchObject({
        projection: broken.name,
      });
      broken.failOn = undefined;
      const more = await note(`${prefix}y`, [5]);
      await p.waitFor(more, { timeoutMs: 30_000 });
      expect(await rows(tb)).toEqual([1, 2, 3, 4, 5]);
      expect(await rows(ta)).toEqual([1, 2, 3, 4, 5]);
    });

    it('two processors on one database apply every event once', async () => {
      const t = await table();
      const prefix = `pc${randomUUID().slice(0, 6)}:`;
      const one = await processor(f.db.client, new CollectedLog(), 7);
      const two = await processor(f.db.client, new CollectedLog(), 5);
      one.register(noteProjection(prefix, t));
      two.register(noteProjection(prefix, t));
      one.start();
      two.start();
      let last: GlobalPosition | undefined;
      for (let i = 0; i < 40; i++) last = await note(`${prefix}s${i % 4}`, [i]);
      await Promise.all([
        one.waitFor(last!, { timeoutMs: 30_000 }),
        two.waitFor(last!, { timeoutMs: 30_000 }),
      ]);
      // A second insert of a row would have failed on the primary key and stopped a projection.
      expect(await rows(t)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect([...one.status(), ...two.status()].every((s) => !s.failed)).toBe(true);
    });

    it('rebuilds blue/green: the live table answers throughout, then the new one takes over', async () => {
      const t = await table();
      const prefix = `pd${randomUUID().slice(0, 6)}:`;
      const projection = noteProjection(prefix, t);
      const p = await processor(f.db.client);
      p.register(projection);
      p.start();
      let last: GlobalPosition | undefined;
      for (let i = 0; i < 20; i++) last = await note(`${prefix}s${i % 2}`, [i]);
      await p.waitFor(last!, { timeoutMs: 30_000 });
      // A row the log does not justify: a rebuild must not carry it over.
      await f.db.client.query(`insert into ${t} (stream_id, n) values ('stray', 999)`);
      const live = Array.from({ length: 20 }, (_, i) => i);

      let reading = true;
      const seen: number[] = [];
      const reader = (async () => {
        while (reading) {
          const count = (await rows(t)).length;
          seen.push(count);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const [outcome] = await p.rebuild([projection.name]);
      reading = false;
      await reader;

      expect(outcome).toMatchObject({ name: projection.name, generation: 2, eventsApplied: 20 });
      expect(await rows(t)).toEqual(live);
      // Every read during the rebuild saw a whole table: the old one (with the stray row) or the new.
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((count) => count === 21 || count === 20)).toBe(true);
      // The indexes kept their names, and the processor goes on writing to the new table.
      const indexes = await f.db.client.query<{ indexname: string }>(
        'select indexname from pg_indexes where tablename = $1',
        [t],
      );
      expect(indexes.map((i) => i.indexname)).toEqual([`${t}_pkey`]);
      const after = await note(`${prefix}s0`, [20]);
      await p.waitFor(after, { timeoutMs: 30_000 });
      expect(await rows(t)).toEqual([...live, 20]);
    });
  });
}
