import { performance } from 'node:perf_hooks';
import { summarise, type Stats } from './report';

/** Performs a worker's i-th operation; one call is one latency sample. */
export type Operation = (i: number) => Promise<void>;

/** One side of a comparison: what each of the concurrent workers does, over and over. */
export interface Workload {
  readonly label: string;
  readonly eventsPerOp: number;
  /**
   * Builds one worker's `ops` operations before the clock starts (payloads, ids), so the timed
   * phase measures the write path and not the random-number generator.
   */
  prepare(worker: number, ops: number): Operation;
}

export interface CompareOptions {
  readonly subject: Workload;
  readonly reference: Workload;
  readonly concurrency: number;
  /** Timed operations per side, across all workers and rounds. */
  readonly ops: number;
  /** Untimed operations per side before the first round (connections, prepared statements, JIT). */
  readonly warmupOps: number;
  /**
   * Time cap per side, over all rounds: a side that reaches it stops early with fewer samples, so
   * a slow disk lengthens the run by at most this much rather than by the operation count.
   */
  readonly maxSeconds: number;
  /**
   * The timed work is split into rounds that alternate which side goes first (A B, B A, ...), so
   * drift during the run (table and index growth, checkpoints, autovacuum) hits both sides alike.
   */
  readonly rounds: number;
  readonly signal: AbortSignal;
}

interface Sample {
  ops: number;
  elapsedMs: number;
  latenciesMs: number[];
}

/** Measures subject and reference at the same concurrency, interleaved in rounds. */
export async function compare(
  options: CompareOptions,
): Promise<{ subject: Stats; reference: Stats }> {
  const { subject, reference, concurrency, signal } = options;
  const { warmupPerWorker, perWorker } = opsPerWorker(options);
  const warmupMs = (options.maxSeconds * 1000) / 10;
  await runPhase(reference, concurrency, warmupPerWorker, warmupMs, signal);
  await runPhase(subject, concurrency, warmupPerWorker, warmupMs, signal);

  const phaseMs = (options.maxSeconds * 1000) / options.rounds;
  const totals = new Map<Workload, Sample>([
    [subject, { ops: 0, elapsedMs: 0, latenciesMs: [] }],
    [reference, { ops: 0, elapsedMs: 0, latenciesMs: [] }],
  ]);
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? [reference, subject] : [subject, reference];
    for (const workload of order) {
      const sample = await runPhase(workload, concurrency, perWorker, phaseMs, signal);
      const total = totals.get(workload)!;
      total.ops += sample.ops;
      total.elapsedMs += sample.elapsedMs;
      total.latenciesMs.push(...sample.latenciesMs);
    }
  }
  const stats = (w: Workload): Stats => {
    const t = totals.get(w)!;
    return summarise(w.label, t.ops, t.ops * w.eventsPerOp, t.elapsedMs, t.latenciesMs);
  };
  return { subject: stats(subject), reference: stats(reference) };
}

type OpsPlan = Pick<CompareOptions, 'concurrency' | 'ops' | 'warmupOps' | 'rounds'>;

/** Operations per worker in the warm-up, and in each timed round. */
function opsPerWorker(plan: OpsPlan): { warmupPerWorker: number; perWorker: number } {
  return {
    warmupPerWorker: Math.max(1, Math.ceil(plan.warmupOps / plan.concurrency)),
    perWorker: Math.max(1, Math.ceil(plan.ops / plan.concurrency / plan.rounds)),
  };
}

/**
 * The most operations one worker of one side runs in a whole comparison, warm-up included (fewer
 * when the time cap stops it): what a workload drawing on a finite supply must be seeded for.
 */
export function maxOpsPerWorker(plan: OpsPlan): number {
  const { warmupPerWorker, perWorker } = opsPerWorker(plan);
  return warmupPerWorker + plan.rounds * perWorker;
}

/**
 * `concurrency` workers, each running its operations back to back (a closed loop), until each has
 * done `opsPerWorker` or `maxMs` has passed.
 */
async function runPhase(
  workload: Workload,
  concurrency: number,
  opsPerWorker: number,
  maxMs: number,
  signal: AbortSignal,
): Promise<Sample> {
  const workers = Array.from({ length: concurrency }, (_, w) => workload.prepare(w, opsPerWorker));
  const latenciesMs: number[] = [];
  // A failed worker stops the others at their next operation, so nothing is left running when the
  // caller goes on to drop the schema.
  const stop = new AbortController();
  const start = performance.now();
  const deadline = start + maxMs;
  const settled = await Promise.allSettled(
    workers.map(async (op) => {
      for (let i = 0; i < opsPerWorker && performance.now() < deadline; i++) {
        signal.throwIfAborted();
        stop.signal.throwIfAborted();
        const t0 = performance.now();
        try {
          await op(i);
        } catch (error) {
          stop.abort(error);
          throw error;
        }
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw stop.signal.aborted ? stop.signal.reason : failed.reason;
  return { ops: latenciesMs.length, elapsedMs, latenciesMs };
}
