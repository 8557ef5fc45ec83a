import { compare, maxOpsPerWorker, type CompareOptions, type Workload } from '../runner';
import type { Comparison } from '../report';
import type { ScenarioContext } from './scenario';

export interface Row {
  readonly scenario: string;
  readonly variant: string;
  readonly batch: number;
  readonly concurrency: number;
  readonly subject: Workload;
  readonly reference: Workload;
  /** Timed operations per side at BENCH_SCALE=1. */
  readonly ops: number;
  /** Time cap per side at BENCH_SCALE=1 (see CompareOptions.maxSeconds). */
  readonly maxSeconds: number;
}

/**
 * One table row, measured the same way in every scenario: after a CHECKPOINT, with an untimed
 * warm-up of a tenth of the operations, in four alternating rounds, scaled by BENCH_SCALE.
 */
export async function measureRow(context: ScenarioContext, row: Row): Promise<Comparison> {
  const { db, scale, signal, progress } = context;
  progress(`${row.scenario}: ${row.variant}, batch ${row.batch}, concurrency ${row.concurrency}`);
  await db.settle();
  const measured = await compare({
    subject: row.subject,
    reference: row.reference,
    ...rowPlan(row, scale),
    signal,
  });
  return {
    scenario: row.scenario,
    variant: row.variant,
    batch: row.batch,
    concurrency: row.concurrency,
    ...measured,
  };
}

/**
 * The most operations one worker of either side runs in `measureRow`, warm-up included: e.g. how
 * many runs' worth of events a checkpoint workload needs sealed before the row starts.
 */
export function maxOpsPerWorkerOfRow(
  row: Pick<Row, 'concurrency' | 'ops' | 'maxSeconds'>,
  scale: number,
): number {
  return maxOpsPerWorker(rowPlan(row, scale));
}

function rowPlan(
  row: Pick<Row, 'concurrency' | 'ops' | 'maxSeconds'>,
  scale: number,
): Omit<CompareOptions, 'subject' | 'reference' | 'signal'> {
  const ops = Math.max(row.concurrency, Math.round(row.ops * scale));
  return {
    concurrency: row.concurrency,
    ops,
    warmupOps: Math.max(2 * row.concurrency, Math.round(ops / 10)),
    maxSeconds: row.maxSeconds * scale,
    rounds: 4,
  };
}
