import type { ReadStreamOptions } from '@ledgerline/event-store';
import type { StreamId } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import type { Comparison } from '../report';
import type { Workload } from '../runner';
import { openSealingStack, type LedgerCaches, type SealingStack } from '../sealing-stack';
import { payloadLabel, sealStreams } from './append-workloads';
import { measureRow } from './measure-row';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const STREAMS = 32;
const EVENTS_PER_STREAM = 200;
const PAGE = 100;
const PAYLOAD_BYTES = 512;
/**
 * Pages read, alternately: the first page forwards (a reader catching up from the start) and the
 * newest page backwards (a client opening a conversation). On the second the Ledger also reads the
 * event before the page, to check the chain's link to it, and the stream's revision, to check that
 * no tail is missing: two small queries more than the reference.
 */
const PAGES: readonly ReadStreamOptions[] = [
  { maxCount: PAGE },
  { direction: 'backwards', maxCount: PAGE },
];
const CONCURRENCIES = [1, 16] as const;
/** Timed pages per side at scale 1; MAX_SECONDS caps each side (about 15 s in all). */
const OPS = 1_000;
const MAX_SECONDS = 2;
/**
 * Cold rows read every page with a Ledger of its own, made before the clock starts: its data-key
 * cache is empty, so the page pays the data-key lookup and unwrap a fresh process pays. (When this
 * was written the unwrap was shared by the page's events but the lookup was not: one lookup, two
 * queries, per event of a cold page.) The caches are tiny so a thousand prepared Ledgers cost
 * little memory; empty, any size behaves the same.
 */
const COLD: LedgerCaches = {
  dataKeys: { maxKeys: 1, maxAgeMs: 60_000, maxUses: 1_000_000 },
  tips: 1,
};

const NAME = 'sealed read';

export const sealedRead: Scenario = {
  name: NAME,
  summary:
    'Ledger.readStream (verify the hash chain and each seal, then decrypt) vs ' +
    `SqlEventStore.readStream of the same sealed rows, pages of ${PAGE} from ${STREAMS} streams ` +
    `of ${EVENTS_PER_STREAM} events, alternately the first page forwards and the newest ` +
    'backwards; cold: a fresh Ledger per page (empty data-key cache, as a new process), warm: ' +
    'one Ledger with every key cached',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const stack = await openSealingStack(context.db);
    const comparisons: Comparison[] = [];
    try {
      context.progress(`${NAME}: sealing ${STREAMS * EVENTS_PER_STREAM} events to read`);
      const streams = await sealStreams(stack.newLedger(), {
        streams: STREAMS,
        eventsPerStream: EVENTS_PER_STREAM,
        batch: PAGE,
        payloadBytes: PAYLOAD_BYTES,
        concurrency: 4,
        signal: context.signal,
      });
      const warm = stack.newLedger();
      for (const streamId of streams) await assertOpens(warm, streamId);
      const reference = pageReads(
        'readStream',
        streams,
        () => (_i, streamId, page) => stack.store.readStream(streamId, page),
      );
      const rows = [
        { cache: 'cold', subject: coldReads(stack, streams) },
        {
          cache: 'warm',
          subject: pageReads(
            'Ledger.readStream',
            streams,
            () => (_i, s, p) => warm.readStream(s, p),
          ),
        },
      ];
      for (const { cache, subject } of rows) {
        for (const concurrency of CONCURRENCIES) {
          comparisons.push(
            await measureRow(context, {
              scenario: NAME,
              variant: `${payloadLabel(PAYLOAD_BYTES)}, ${cache}`,
              batch: PAGE,
              concurrency,
              subject,
              reference,
              ops: OPS,
              maxSeconds: MAX_SECONDS,
            }),
          );
        }
      }
    } finally {
      await stack.close();
    }
    return { comparisons, tallies: [] };
  },
};

type PageRead = (i: number, streamId: StreamId, page: ReadStreamOptions) => Promise<unknown>;

/** Worker w reads both pages of stream w, then both of stream w + 1, and so on round the list. */
function pageReads(
  label: string,
  streams: readonly StreamId[],
  prepare: (ops: number) => PageRead,
): Workload {
  return {
    label,
    eventsPerOp: PAGE,
    prepare(worker, ops) {
      const read = prepare(ops);
      return async (i) => {
        const streamId = streams[(worker + Math.floor(i / PAGES.length)) % streams.length]!;
        await read(i, streamId, PAGES[i % PAGES.length]!);
      };
    },
  };
}

function coldReads(stack: SealingStack, streams: readonly StreamId[]): Workload {
  return pageReads('Ledger.readStream', streams, (ops) => {
    const ledgers = Array.from({ length: ops }, () => stack.newLedger(COLD));
    return (i, streamId, page) => ledgers[i]!.readStream(streamId, page);
  });
}

/** Caches the stream's data key in `ledger`, and makes sure what is measured opens for real. */
async function assertOpens(ledger: Ledger, streamId: StreamId): Promise<void> {
  const [first] = await ledger.readStream(streamId, { maxCount: 1 });
  if (first?.body.status !== 'available' || first.body.payload.length !== PAYLOAD_BYTES) {
    throw new Error(`${NAME}: stream ${streamId} did not open as sealed`);
  }
}
