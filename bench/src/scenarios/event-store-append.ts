import { randomBytes, randomUUID } from 'node:crypto';
import { SqlEventStore, type ExpectedRevision } from '@ledgerline/event-store';
import {
  DEFAULT_EVENT_STORE_LIMITS,
  systemClock,
  uuidV7Generator,
  type EventToAppend,
} from '@ledgerline/kernel';
import type { SqlClient } from '@ledgerline/database';
import { compare, type Workload } from '../runner';
import type { Comparison } from '../report';
import type { Scenario, ScenarioContext } from './scenario';

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
const TENANT = 'bench';
const EVENT_TYPE = 'MessageSent';

/**
 * Streams: every worker appends only to streams of its own and starts a new one every
 * APPENDS_PER_STREAM appends (a conversation's worth), tracking the expected revision from each
 * append's result the way a command handler does. No two workers ever touch one stream, so
 * concurrency 16 measures the store (indexes, the sequence, WAL and commit, the notify queue), not
 * the per-stream row lock that serialises appends to one stream by design; the periodic new
 * stream keeps stream creation in the mix. The reference writes the same stream ids.
 */
const APPENDS_PER_STREAM = 20;

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
  async run(context: ScenarioContext): Promise<Comparison[]> {
    const { db, scale, signal, progress } = context;
    await db.client.exec(PLAIN_TABLE);
    const store = await SqlEventStore.create(db.client, {
      limits: DEFAULT_EVENT_STORE_LIMITS,
      clock: systemClock,
      pollIntervalMs: 1_000,
    });
    const results: Comparison[] = [];
    try {
      for (const batch of BATCHES) {
        for (const concurrency of CONCURRENCIES) {
          progress(`${NAME}: batch ${batch}, concurrency ${concurrency}`);
          await db.settle();
          const ops = Math.max(concurrency, Math.round(OPS[batch] * scale));
          const measured = await compare({
            subject: appendWorkload(store, batch),
            reference: plainInsertWorkload(db.client, batch),
            concurrency,
            ops,
            warmupOps: Math.max(2 * concurrency, Math.round(ops / 10)),
            maxSeconds: MAX_SECONDS * scale,
            rounds: 4,
            signal,
          });
          results.push({ scenario: NAME, batch, concurrency, ...measured });
        }
      }
    } finally {
      await store.close();
    }
    return results;
  },
};

function appendWorkload(store: SqlEventStore, batch: number): Workload {
  return {
    label: 'appendToStream',
    eventsPerOp: batch,
    prepare(_worker, ops) {
      const batches = Array.from({ length: ops }, () => newEvents(batch));
      let streamId = '';
      let expected: ExpectedRevision = 'no_stream';
      return async (i) => {
        if (i % APPENDS_PER_STREAM === 0) {
          streamId = newStreamId();
          expected = 'no_stream';
        }
        const result = await store.appendToStream(streamId, batches[i]!, expected);
        expected = result.nextExpectedRevision;
      };
    },
  };
}

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
      const batches = Array.from({ length: ops }, () => newEvents(batch));
      let streamId = '';
      return async (i) => {
        if (i % APPENDS_PER_STREAM === 0) streamId = newStreamId();
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

function newStreamId(): string {
  return `conversation-${uuidV7Generator.next()}`;
}

function newEvents(count: number): EventToAppend[] {
  const correlationId = randomUUID();
  return Array.from({ length: count }, () => ({
    eventId: uuidV7Generator.next(),
    type: EVENT_TYPE,
    schemaVersion: 1,
    tenantId: TENANT,
    metadata: { actor: { id: randomUUID(), kind: 'user' }, correlationId },
    data: randomBytes(PAYLOAD_BYTES),
  }));
}
