import type { BenchDatabase } from '../bench-database';
import type {
  Comparison,
  ConnectionMemory,
  RealtimeStep,
  RealtimeTiming,
  SfuFanOutStep,
  Tally,
} from '../report';

export interface ScenarioContext {
  readonly db: BenchDatabase;
  /** Multiplies every operation count (BENCH_SCALE); 1 keeps the whole bench near 2.5 minutes. */
  readonly scale: number;
  /** Aborted on Ctrl-C: stop at the next operation so the run can still clean up. */
  readonly signal: AbortSignal;
  /** Progress for humans, on stderr; the results go to stdout. */
  readonly progress: (line: string) => void;
}

/** What a scenario measured: ratios against a reference, and plain counts. Either may be empty. */
export interface ScenarioResult {
  readonly comparisons: readonly Comparison[];
  readonly tallies: readonly Tally[];
  /** Realtime scenarios: the rising send rate's steps, subject and reference at each. */
  readonly realtimeSteps?: readonly RealtimeStep[];
  /** Realtime scenarios: server memory per connection, subject and reference. */
  readonly connectionMemory?: readonly ConnectionMemory[];
  /** Realtime scenarios: other times, subject and reference (e.g. a cold fan-out). */
  readonly realtimeTimings?: readonly RealtimeTiming[];
  /** SFU fan-out: the rising subscriber count's steps, per engine, engine and reference at each. */
  readonly sfuSteps?: readonly SfuFanOutStep[];
}

/**
 * A benchmark: it measures a subject against a reference in the same run, on the database it is
 * given, and returns one comparison per parameter combination (or, where a count is the answer,
 * tallies). It owns the tables it creates.
 */
export interface Scenario {
  /** Short, stable: the `scenario` column, `--only` and the JSON output use it. */
  readonly name: string;
  readonly summary: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}
