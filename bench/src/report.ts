/** One side of a comparison, summarised: what the table and the JSON output show. */
export interface Stats {
  readonly label: string;
  /** Timed operations (append calls, INSERT statements, ...), all workers and rounds together. */
  readonly ops: number;
  readonly events: number;
  /** Wall-clock time of the timed phases, summed over rounds. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Latency of one operation (a whole batch), not of one event. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A subject measured against a reference in the same run, with the same batch and concurrency. */
export interface Comparison {
  readonly scenario: string;
  /** What else sets the row apart: payload size, cold or warm cache. */
  readonly variant: string;
  readonly batch: number;
  readonly concurrency: number;
  readonly subject: Stats;
  readonly reference: Stats;
}

export interface Ratios {
  /** subject / reference events per second: below 1 means the subject is slower. */
  readonly throughput: number;
  /** subject / reference latency: above 1 means the subject is slower. */
  readonly p50: number;
  readonly p99: number;
}

/** Nearest-rank percentile of ascending `sorted` values; `p` in [0, 100]. NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarise(
  label: string,
  ops: number,
  events: number,
  elapsedMs: number,
  latenciesMs: readonly number[],
): Stats {
  const sorted = Float64Array.from(latenciesMs).sort();
  const seconds = elapsedMs / 1000;
  return {
    label,
    ops,
    events,
    seconds,
    eventsPerSecond: events / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

export function ratios(c: Comparison): Ratios {
  return {
    throughput: c.subject.eventsPerSecond / c.reference.eventsPerSecond,
    p50: c.subject.p50Ms / c.reference.p50Ms,
    p99: c.subject.p99Ms / c.reference.p99Ms,
  };
}

type Align = 'left' | 'right';

/** A Markdown table, padded so it also reads as a plain-text table in a terminal. */
export function formatTable(
  columns: readonly { readonly title: string; readonly align: Align }[],
  rows: readonly (readonly string[])[],
): string {
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, 3, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const pad = (text: string, i: number): string =>
    columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => pad(cell, i)).join(' | ')} |`;
  const rule = `|${columns
    .map((c, i) =>
      c.align === 'right' ? `${'-'.repeat(widths[i]! + 1)}:` : '-'.repeat(widths[i]! + 2),
    )
    .join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...rows.map(line)].join('\n');
}

/** The subject-vs-reference table every scenario reports in. */
export function formatComparisons(comparisons: readonly Comparison[]): string {
  const columns: { title: string; align: Align }[] = [
    { title: 'scenario', align: 'left' },
    { title: 'variant', align: 'left' },
    { title: 'batch', align: 'right' },
    { title: 'concurrency', align: 'right' },
    { title: 'events/s', align: 'right' },
    { title: 'p50 ms', align: 'right' },
    { title: 'p99 ms', align: 'right' },
    { title: 'ratio events/s', align: 'right' },
    { title: 'ratio p50', align: 'right' },
    { title: 'ratio p99', align: 'right' },
    { title: 'reference', align: 'left' },
    { title: 'ref events/s', align: 'right' },
    { title: 'ref p50 ms', align: 'right' },
    { title: 'ref p99 ms', align: 'right' },
  ];
  const rows = comparisons.map((c) => {
    const r = ratios(c);
    return [
      c.scenario,
      c.variant,
      String(c.batch),
      String(c.concurrency),
      formatRate(c.subject.eventsPerSecond),
      formatMs(c.subject.p50Ms),
      formatMs(c.subject.p99Ms),
      formatRatio(r.throughput),
      formatRatio(r.p50),
      formatRatio(r.p99),
      c.reference.label,
      formatRate(c.reference.eventsPerSecond),
      formatMs(c.reference.p50Ms),
      formatMs(c.reference.p99Ms),
    ];
  });
  return formatTable(columns, rows);
}

/** What `--json` writes per comparison: the table's figures plus sample sizes. */
export function comparisonJson(c: Comparison): Comparison & { ratios: Ratios } {
  return { ...c, ratios: ratios(c) };
}

/**
 * A plain figure, not a ratio: how many calls of each kind one phase of a scenario made, e.g. the
 * KeyProvider calls while sealing or reading, shown per TALLY_EVENTS events.
 */
export interface Tally {
  readonly scenario: string;
  readonly phase: string;
  readonly streams: number;
  readonly events: number;
  /** Calls counted during the phase, by operation, in the order the table shows them. */
  readonly calls: Readonly<Record<string, number>>;
}

export const TALLY_EVENTS = 10_000;

function perTallyEvents(t: Tally, calls: number): number {
  return (calls * TALLY_EVENTS) / t.events;
}

/** The counts table: one column per operation counted, each per TALLY_EVENTS events. */
export function formatTallies(tallies: readonly Tally[]): string {
  const operations = [...new Set(tallies.flatMap((t) => Object.keys(t.calls)))];
  const per = rateFormat.format(TALLY_EVENTS);
  const columns: { title: string; align: Align }[] = [
    { title: 'scenario', align: 'left' },
    { title: 'phase', align: 'left' },
    { title: 'streams', align: 'right' },
    { title: 'events', align: 'right' },
    ...operations.map((op) => ({ title: `${op} per ${per} events`, align: 'right' as const })),
  ];
  const rows = tallies.map((t) => [
    t.scenario,
    t.phase,
    rateFormat.format(t.streams),
    rateFormat.format(t.events),
    ...operations.map((op) => countFormat.format(perTallyEvents(t, t.calls[op] ?? 0))),
  ]);
  return formatTable(columns, rows);
}

/** What `--json` writes per tally: the raw counts and the per-TALLY_EVENTS figures. */
export function tallyJson(t: Tally): Tally & { perTallyEvents: Record<string, number> } {
  const perTally = Object.fromEntries(
    Object.entries(t.calls).map(([op, calls]) => [op, perTallyEvents(t, calls)]),
  );
  return { ...t, perTallyEvents: perTally };
}

const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

const rateFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function formatRate(perSecond: number): string {
  return rateFormat.format(perSecond);
}

function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}x`;
}
