import type { StreamId } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import { forEachConcurrently } from '../concurrently';
import { callsSince } from '../counting-key-provider';
import { TALLY_EVENTS, type Tally } from '../report';
import { openSealingStack } from '../sealing-stack';
import { sealStreams } from './append-workloads';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

/**
 * TALLY_EVENTS events in few long streams and in many short ones: the calls follow the streams,
 * not the events. Not scaled by BENCH_SCALE: the counts are exact, more events would not steady
 * them.
 */
const LAYOUTS = [
  { streams: 100, eventsPerStream: TALLY_EVENTS / 100 },
  { streams: 1_000, eventsPerStream: TALLY_EVENTS / 1_000 },
] as const;
const BATCH = 10;
const PAGE = 100;
const PAYLOAD_BYTES = 512;
const CONCURRENCY = 8;

const NAME = 'kms calls';

export const kmsCalls: Scenario = {
  name: NAME,
  summary:
    'KeyProvider calls (each a billed, rate-limited KMS request) counted around the local ' +
    `key ring, per ${TALLY_EVENTS.toLocaleString('en-US')} events, with the server's default ` +
    'data-key limits. generateDataKey: one per stream per epoch (UTC month), and again every ' +
    'LEDGERLINE_DEK_MAX_EVENTS (1,000,000) events of one stream. unwrap: one per data key per ' +
    'process while the key stays cached (LEDGERLINE_DEK_CACHE_MAX_KEYS 20,000 keys, least ' +
    'recently used out first; MAX_AGE_MS 5 min; MAX_USES); the process that made a key has it ' +
    'cached already. rewrap: KEK rotation only, never appends or reads',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const { signal, progress } = context;
    const stack = await openSealingStack(context.db);
    const tallies: Tally[] = [];
    try {
      const counted = async <T>(
        phase: string,
        streams: number,
        work: () => Promise<T>,
      ): Promise<T> => {
        const before = stack.provider.calls();
        const result = await work();
        const calls = callsSince(before, stack.provider.calls());
        tallies.push({ scenario: NAME, phase, streams, events: TALLY_EVENTS, calls: { ...calls } });
        return result;
      };
      for (const layout of LAYOUTS) {
        progress(`${NAME}: ${layout.streams} streams of ${layout.eventsPerStream} events`);
        const ids = await counted(`seal, batches of ${BATCH}`, layout.streams, () =>
          sealStreams(stack.newLedger(), {
            ...layout,
            batch: BATCH,
            payloadBytes: PAYLOAD_BYTES,
            concurrency: CONCURRENCY,
            signal,
          }),
        );
        const reader = stack.newLedger();
        await counted('read, fresh process', layout.streams, () =>
          readAll(reader, ids, layout.eventsPerStream, signal),
        );
        await counted('read again, same process', layout.streams, () =>
          readAll(reader, ids, layout.eventsPerStream, signal),
        );
      }
    } finally {
      await stack.close();
    }
    return { comparisons: [], tallies };
  },
};

/**
 * Reads every stream to its end in pages, and checks that every event opened. It stops at the
 * known length rather than at an empty page: Ledger.readStream reports an empty page read past
 * the end of a stream as `stream_truncated` (a read from revision N of a stream of N events).
 */
async function readAll(
  ledger: Ledger,
  streams: readonly StreamId[],
  eventsPerStream: number,
  signal: AbortSignal,
): Promise<void> {
  let opened = 0;
  await forEachConcurrently(streams, CONCURRENCY, signal, async (streamId) => {
    for (let from = 0; from < eventsPerStream; from += PAGE) {
      const page = await ledger.readStream(streamId, {
        fromRevision: BigInt(from),
        maxCount: PAGE,
      });
      opened += page.filter((e) => e.body.status === 'available').length;
    }
  });
  if (opened !== streams.length * eventsPerStream) {
    throw new Error(`${NAME}: opened ${opened} of ${streams.length * eventsPerStream} events`);
  }
}
