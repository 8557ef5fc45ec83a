import { SqlEventStore } from '@ledgerline/event-store';
import { DEFAULT_EVENT_STORE_LIMITS, systemClock } from '@ledgerline/kernel';
import type { SqlClient } from '@ledgerline/database';
import type { Workload } from '../runner';
import type { Comparison } from '../report';
import { WorkerStreams, newEvents, payloadLabel, storeAppendWorkload } from './append-workloads';
import { measureRow } from './measure-row';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const BATCHES = [1, 10, 100] as const;
const CONCURRENCIES = [1, 16] as const;
/**
 * Timed operations per side at scale 1, fewer for big batches, whose operations take longer: about
 * 40 s in all on two cores with a fast disk. MAX_SECONDS caps each side of each row (times the
 * scale) so a slow disk cannot stretch the run past about 90 s.
 */
const OPS: Record<(typeof BATCHES)[number], number> = { 1: 10_000, 10: 5_000, 100: 1_000 };
const MAX_SECONDS = 6;
const PAYLOAD_BYTES = 512;

/** The reference: the same rows in a table with no keys, indexes, triggers or functions. */
const PLAIN_TABLE = `create table bench_plain_events (
  event_id uuid not null,
  stream_id text not null,
  type text not null,
  schema_version integer not null,
  tenant_id text not null,
  recorded_at timestamptz not null,
  metadata jsonb not null,
  data bytea not null
)`;
const PLAIN_COLUMNS = 8;

const NAME = 'event-store append';

export const eventStoreAppend: Scenario = {
  name: NAME,
  summary:
    'SqlEventStore.appendToStream vs a plain multi-row INSERT of the same rows into a bare table',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const { db } = context;
    await db.client.exec(PLAIN_TABLE);
    const store = SqlEventStore.create(db.client, {
      limits: DEFAULT_EVENT_STORE_LIMITS,
      clock: systemClock,
      pollIntervalMs: 1_000,
    });
    const comparisons: Comparison[] = [];
    try {
      for (const batch of BATCHES) {
        for (const concurrency of CONCURRENCIES) {
          comparisons.push(
            await measureRow(context, {
              scenario: NAME,
              variant: payloadLabel(PAYLOAD_BYTES),
              batch,
              concurrency,
              subject: storeAppendWorkload(store, batch, PAYLOAD_BYTES),
              reference: plainInsertWorkload(db.client, batch),
              ops: OPS[batch],
              maxSeconds: MAX_SECONDS,
            }),
          );
        }
      }
    } finally {
      await store.close();
    }
    return { comparisons, tallies: [] };
  },
};

function plainInsertWorkload(client: SqlClient, batch: number): Workload {
  const placeholders = Array.from(
    { length: batch },
    (_, row) =>
      `(${Array.from({ length: PLAIN_COLUMNS }, (_, col) => `$${row * PLAIN_COLUMNS + col + 1}`).join(', ')})`,
  ).join(', ');
  const sql = `insert into bench_plain_events
    (event_id, stream_id, type, schema_version, tenant_id, recorded_at, metadata, data)
    values ${placeholders}`;
  const name = `bench_plain_insert_${batch}`;
  return {
    label: 'plain INSERT',
    eventsPerOp: batch,
    prepare(_worker, ops) {
      const batches = Array.from({ length: ops }, () => newEvents(batch, PAYLOAD_BYTES));
      const streams = new WorkerStreams();
      return async (i) => {
        const { streamId } = streams.at(i);
        // Like the store, one statement per batch (its own transaction) and one timestamp per call.
        const recordedAt = systemClock.now().toISOString();
        const params = batches[i]!.flatMap((e) => [
          e.eventId,
          streamId,
          e.type,
          e.schemaVersion,
          e.tenantId,
          recordedAt,
          JSON.stringify(e.metadata),
          e.data,
        ]);
        await client.query(sql, params, { name });
      };
    },
  };
}
