import type { Comparison } from '../report';
import { openSealingStack } from '../sealing-stack';
import { ledgerAppendWorkload, payloadLabel, storeAppendWorkload } from './append-workloads';
import { measureRow } from './measure-row';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

/** The 512-byte grid of the event-store scenario, and one row of bigger payloads at its busiest. */
const ROWS = [
  { payloadBytes: 512, batch: 1, concurrency: 1 },
  { payloadBytes: 512, batch: 1, concurrency: 16 },
  { payloadBytes: 512, batch: 10, concurrency: 1 },
  { payloadBytes: 512, batch: 10, concurrency: 16 },
  { payloadBytes: 4096, batch: 10, concurrency: 16 },
] as const;
/** Timed operations per side at scale 1; MAX_SECONDS caps each side (about 25 s in all). */
const OPS: Record<(typeof ROWS)[number]['batch'], number> = { 1: 3_000, 10: 1_500 };
const MAX_SECONDS = 2.5;

const NAME = 'sealed append';

export const sealedAppend: Scenario = {
  name: NAME,
  summary:
    'Ledger.append (seal each payload under the stream data key, hash-chain it, reserve data-key ' +
    'uses, append) vs SqlEventStore.appendToStream of the same payloads unsealed; a new stream ' +
    'every 20 appends, so one append in 20 also makes a data key',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const stack = await openSealingStack(context.db);
    const comparisons: Comparison[] = [];
    try {
      // One Ledger for the whole scenario, as one server process has.
      const ledger = stack.newLedger();
      for (const { payloadBytes, batch, concurrency } of ROWS) {
        comparisons.push(
          await measureRow(context, {
            scenario: NAME,
            variant: payloadLabel(payloadBytes),
            batch,
            concurrency,
            subject: ledgerAppendWorkload(ledger, batch, payloadBytes),
            reference: storeAppendWorkload(stack.store, batch, payloadBytes),
            ops: OPS[batch],
            maxSeconds: MAX_SECONDS,
          }),
        );
      }
    } finally {
      await stack.close();
    }
    return { comparisons, tallies: [] };
  },
};
