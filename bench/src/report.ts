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
  /**
   * What the figures are shown per: `per` of the events, called `name`; by default TALLY_EVENTS
   * `events` (e.g. 1 `call set-up` shows a scenario's work per set-up).
   */
  readonly unit?: { readonly per: number; readonly name: string };
}

export const TALLY_EVENTS = 10_000;

function unitOf(t: Tally): { per: number; name: string } {
  return t.unit ?? { per: TALLY_EVENTS, name: 'events' };
}

function perTallyEvents(t: Tally, calls: number): number {
  return (calls * unitOf(t).per) / t.events;
}

/** A column's title: the operation and the unit it is shown per. */
function tallyColumn(t: Tally, op: string): string {
  const { per, name } = unitOf(t);
  return `${op} per ${per === 1 ? name : `${rateFormat.format(per)} ${name}`}`;
}

/** The counts table: one column per operation counted and unit (by default per TALLY_EVENTS). */
export function formatTallies(tallies: readonly Tally[]): string {
  const titles = [
    ...new Set(tallies.flatMap((t) => Object.keys(t.calls).map((op) => tallyColumn(t, op)))),
  ];
  const columns: { title: string; align: Align }[] = [
    { title: 'scenario', align: 'left' },
    { title: 'phase', align: 'left' },
    { title: 'streams', align: 'right' },
    { title: 'events', align: 'right' },
    ...titles.map((title) => ({ title, align: 'right' as const })),
  ];
  const rows = tallies.map((t) => {
    const figures = new Map(
      Object.entries(t.calls).map(([op, calls]) => [tallyColumn(t, op), perTallyEvents(t, calls)]),
    );
    return [
      t.scenario,
      t.phase,
      rateFormat.format(t.streams),
      rateFormat.format(t.events),
      // A tally that counted nothing (e.g. an engine not in this build) shows no figures.
      ...titles.map((title) =>
        t.events === 0 || !figures.has(title) ? '' : countFormat.format(figures.get(title)!),
      ),
    ];
  });
  return formatTable(columns, rows);
}

/** What `--json` writes per tally: the raw counts and the figures per its unit. */
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
  // Infinite: a realtime percentile that includes a send or delivery that never came.
  if (ms === Number.POSITIVE_INFINITY) return 'lost';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function formatRatio(ratio: number): string {
  // Not finite: a side was not run, or lost some of what it was sent (see formatMs).
  if (!Number.isFinite(ratio)) return '–';
  return `${ratio.toFixed(2)}x`;
}

/**
 * One server at one step of a realtime scenario's rising send rate. Deliveries count the members
 * other than the sender (a group of 10: 9 per send); latencies are measured on the sending
 * process's clock, from just before the client wrote the frame.
 */
export interface RealtimeStepStats {
  readonly label: string;
  /** Sends written per second over all clients during the step (its target rate, as achieved). */
  readonly sendsPerSecond: number;
  readonly sent: number;
  /** Sends answered `ok`. */
  readonly acked: number;
  /** Sends answered with an error frame, or not answered before the step's drain ended. */
  readonly failed: number;
  /** Deliveries expected (acknowledged sends × other members) and received. */
  readonly expectedDeliveries: number;
  readonly delivered: number;
  /** Deliveries of a message a member had already received: must stay 0. */
  readonly duplicates: number;
  /** Deliveries received per second, from the step's first send to its last delivery. */
  readonly deliveredPerSecond: number;
  /** Send-to-ack; a send never answered counts as infinitely late. */
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  /** Send-to-deliver, per receiving member; one that never came counts as infinitely late. */
  readonly deliverP50Ms: number;
  readonly deliverP99Ms: number;
  /** What the step cost the server and the database, when the side was probed (Ledgerline). */
  readonly work?: StepWork;
}

/**
 * A step's work, from just before its first send to the end of its drain: totals, divided by the
 * step's deliveries for the per-message figures (`workPerMessage`).
 */
export interface StepWork {
  /** SQL statements the server sent (query, exec, BEGIN and COMMIT/ROLLBACK), from its metrics. */
  readonly statements: number;
  /** Commits: explicit transactions and statements run outside one, from its metrics. */
  readonly commits: number;
  /** The server process's CPU time, user + system. */
  readonly serverCpuMs: number;
  /**
   * CPU time of every `postgres` process on the machine, user + system: it includes whatever else
   * the cluster did meanwhile. Undefined when no postgres process is visible.
   */
  readonly dbCpuMs?: number;
}

/** A step's work per delivered message; NaN when nothing was delivered or it was not probed. */
export interface WorkPerMessage {
  readonly statements: number;
  readonly commits: number;
  readonly serverCpuMs: number;
  readonly dbCpuMs: number;
}

export function workPerMessage(stats: RealtimeStepStats | undefined): WorkPerMessage {
  const work = stats?.work;
  const per = (total: number | undefined): number =>
    total === undefined || !stats || stats.delivered === 0 ? Number.NaN : total / stats.delivered;
  return {
    statements: per(work?.statements),
    commits: per(work?.commits),
    serverCpuMs: per(work?.serverCpuMs),
    dbCpuMs: per(work?.dbCpuMs),
  };
}

/** One step of the rising send rate, both servers at the same offered rate. */
export interface RealtimeStep {
  readonly scenario: string;
  readonly clients: number;
  readonly groupSize: number;
  /** The step's target: sends per second over all clients. */
  readonly offeredPerSecond: number;
  /** Undefined when that server had already saturated at a lower step, so this one was not run. */
  readonly subject?: RealtimeStepStats;
  readonly reference?: RealtimeStepStats;
}

/** A server process's memory before and after its clients connected, each after a full GC. */
export interface ServerMemory {
  readonly label: string;
  readonly connections: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** V8 heap used plus memory outside it (`external`: buffers and the like). */
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
}

/** Server memory per connection, subject and reference with the same clients. */
export interface ConnectionMemory {
  readonly scenario: string;
  readonly variant: string;
  readonly subject: ServerMemory;
  readonly reference: ServerMemory;
}

/**
 * A realtime time that is neither a step nor memory, subject and reference measured alike: e.g.
 * how long the first message of every conversation took to reach every member.
 */
export interface RealtimeTiming {
  readonly scenario: string;
  readonly figure: string;
  readonly subjectMs: number;
  readonly referenceMs: number;
  /** False when a side timed out: its figure is then a lower bound. */
  readonly subjectComplete: boolean;
  readonly referenceComplete: boolean;
}

/** The headline throughput: deliveries per second at the highest step still meeting the latency. */
export interface SustainedDelivery {
  /** The step's offered sends per second; undefined when no step met it. */
  readonly offeredPerSecond?: number;
  readonly deliveredPerSecond: number;
  /** The ladder's top step met it: the server may do more than the ladder asked. */
  readonly atTopStep: boolean;
}

/** p99 send-to-deliver a step must stay under for its deliveries to count as sustained. */
export const SUSTAINED_P99_MS = 50;

/**
 * The highest step whose p99 send-to-deliver stayed under SUSTAINED_P99_MS with every send
 * acknowledged and every delivery received, and its deliveries per second; 0 when none did.
 */
export function sustainedDelivery(
  steps: readonly RealtimeStep[],
  side: 'subject' | 'reference',
): SustainedDelivery {
  const best = sustainedStep(steps, side);
  if (best === undefined) return { deliveredPerSecond: 0, atTopStep: false };
  const top = Math.max(...steps.map((s) => s.offeredPerSecond));
  return {
    offeredPerSecond: best.offeredPerSecond,
    deliveredPerSecond: best[side]!.deliveredPerSecond,
    atTopStep: best.offeredPerSecond === top,
  };
}

/** The highest step meeting the latency (see sustainedDelivery) on `side`; undefined if none. */
export function sustainedStep(
  steps: readonly RealtimeStep[],
  side: 'subject' | 'reference',
): RealtimeStep | undefined {
  let best: RealtimeStep | undefined;
  for (const step of steps) {
    const stats = step[side];
    if (stats === undefined || !meetsLatency(stats)) continue;
    if (best === undefined || step.offeredPerSecond > best.offeredPerSecond) best = step;
  }
  return best;
}

function meetsLatency(stats: RealtimeStepStats): boolean {
  return (
    stats.failed === 0 &&
    stats.delivered >= stats.expectedDeliveries &&
    stats.deliverP99Ms < SUSTAINED_P99_MS
  );
}

export function perConnection(memory: ServerMemory): { rssBytes: number; heapBytes: number } {
  return {
    rssBytes: (memory.rssAfterBytes - memory.rssBeforeBytes) / memory.connections,
    heapBytes: (memory.heapAfterBytes - memory.heapBeforeBytes) / memory.connections,
  };
}

/** The rising-rate table: one row per step, subject, ratios, reference. */
export function formatRealtimeSteps(steps: readonly RealtimeStep[]): string {
  const columns: { title: string; align: Align }[] = [
    { title: 'scenario', align: 'left' },
    { title: 'clients', align: 'right' },
    { title: 'sends/s', align: 'right' },
    { title: 'delivered/s', align: 'right' },
    { title: 'ack p50 ms', align: 'right' },
    { title: 'ack p99 ms', align: 'right' },
    { title: 'deliver p50 ms', align: 'right' },
    { title: 'deliver p99 ms', align: 'right' },
    { title: 'missing', align: 'right' },
    { title: 'stmts/msg', align: 'right' },
    { title: 'commits/msg', align: 'right' },
    { title: 'server CPU ms/msg', align: 'right' },
    { title: 'DB CPU ms/msg', align: 'right' },
    { title: 'ratio delivered/s', align: 'right' },
    { title: 'ratio ack p50', align: 'right' },
    { title: 'ratio ack p99', align: 'right' },
    { title: 'ratio deliver p50', align: 'right' },
    { title: 'ratio deliver p99', align: 'right' },
    { title: 'reference', align: 'left' },
    { title: 'ref delivered/s', align: 'right' },
    { title: 'ref ack p50 ms', align: 'right' },
    { title: 'ref ack p99 ms', align: 'right' },
    { title: 'ref deliver p50 ms', align: 'right' },
    { title: 'ref deliver p99 ms', align: 'right' },
    { title: 'ref missing', align: 'right' },
  ];
  const side = (s: RealtimeStepStats | undefined): string[] =>
    s === undefined
      ? ['not run', '', '', '', '', '']
      : [
          formatRate(s.deliveredPerSecond),
          formatMs(s.ackP50Ms),
          formatMs(s.ackP99Ms),
          formatMs(s.deliverP50Ms),
          formatMs(s.deliverP99Ms),
          rateFormat.format(missing(s)),
        ];
  const rows = steps.map((step) => {
    const r = stepRatios(step);
    const [delivered, ackP50, ackP99, deliverP50, deliverP99, lost] = side(step.subject);
    const work = workPerMessage(step.subject);
    return [
      step.scenario,
      rateFormat.format(step.clients),
      rateFormat.format(step.offeredPerSecond),
      delivered!,
      ackP50!,
      ackP99!,
      deliverP50!,
      deliverP99!,
      lost!,
      formatPerMessage(work.statements),
      formatPerMessage(work.commits),
      formatPerMessage(work.serverCpuMs),
      formatPerMessage(work.dbCpuMs),
      formatRatio(r.delivered),
      formatRatio(r.ackP50),
      formatRatio(r.ackP99),
      formatRatio(r.deliverP50),
      formatRatio(r.deliverP99),
      step.reference?.label ?? step.subject?.label ?? '',
      ...side(step.reference),
    ];
  });
  return formatTable(columns, rows);
}

const perMessageFormat = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

/** A per-message figure; empty when not measured. */
function formatPerMessage(value: number): string {
  return Number.isFinite(value) ? perMessageFormat.format(value) : '';
}

/** Sends that failed plus deliveries that never came. */
function missing(s: RealtimeStepStats): number {
  return s.failed + Math.max(0, s.expectedDeliveries - s.delivered);
}

export interface RealtimeRatios {
  /** subject / reference deliveries per second: below 1 means the subject delivers fewer. */
  readonly delivered: number;
  /** subject / reference latency: above 1 means the subject is slower. */
  readonly ackP50: number;
  readonly ackP99: number;
  readonly deliverP50: number;
  readonly deliverP99: number;
}

export function stepRatios(step: RealtimeStep): RealtimeRatios {
  const { subject: s, reference: r } = step;
  const ratio = (a: number | undefined, b: number | undefined): number =>
    a === undefined || b === undefined ? Number.NaN : a / b;
  return {
    delivered: ratio(s?.deliveredPerSecond, r?.deliveredPerSecond),
    ackP50: ratio(s?.ackP50Ms, r?.ackP50Ms),
    ackP99: ratio(s?.ackP99Ms, r?.ackP99Ms),
    deliverP50: ratio(s?.deliverP50Ms, r?.deliverP50Ms),
    deliverP99: ratio(s?.deliverP99Ms, r?.deliverP99Ms),
  };
}

/**
 * The realtime headline figures, subject against reference: sustained deliveries per second from
 * the rising-rate steps, and server memory per connection.
 */
export function formatRealtimeSummary(
  steps: readonly RealtimeStep[],
  memory: readonly ConnectionMemory[],
  timings: readonly RealtimeTiming[] = [],
): string {
  const columns: { title: string; align: Align }[] = [
    { title: 'scenario', align: 'left' },
    { title: 'figure', align: 'left' },
    { title: 'subject', align: 'right' },
    { title: 'reference', align: 'right' },
    { title: 'ratio', align: 'right' },
  ];
  const rows: string[][] = [];
  for (const scenario of [...new Set(steps.map((s) => s.scenario))]) {
    const ofScenario = steps.filter((s) => s.scenario === scenario);
    const subject = sustainedDelivery(ofScenario, 'subject');
    const reference = sustainedDelivery(ofScenario, 'reference');
    rows.push([
      scenario,
      `delivered msgs/s at p99 send-to-deliver < ${SUSTAINED_P99_MS} ms (at sends/s)`,
      formatSustained(subject),
      formatSustained(reference),
      formatRatio(subject.deliveredPerSecond / reference.deliveredPerSecond),
    ]);
    rows.push(...workRows(scenario, ofScenario));
  }
  for (const t of timings) {
    rows.push([
      t.scenario,
      t.figure,
      formatTiming(t.subjectMs, t.subjectComplete),
      formatTiming(t.referenceMs, t.referenceComplete),
      formatRatio(t.subjectMs / t.referenceMs),
    ]);
  }
  for (const m of memory) {
    const s = perConnection(m.subject);
    const r = perConnection(m.reference);
    rows.push(
      [
        m.scenario,
        `server RSS per connection, ${m.variant}`,
        formatBytes(s.rssBytes),
        formatBytes(r.rssBytes),
        formatRatio(s.rssBytes / r.rssBytes),
      ],
      [
        m.scenario,
        `server JS heap + external per connection, ${m.variant}`,
        formatBytes(s.heapBytes),
        formatBytes(r.heapBytes),
        formatRatio(s.heapBytes / r.heapBytes),
      ],
    );
  }
  return formatTable(columns, rows);
}

/**
 * The subject's work per delivered message at its sustained step (the reference is not probed);
 * none when the subject was not probed.
 */
function workRows(scenario: string, steps: readonly RealtimeStep[]): string[][] {
  if (!steps.some((s) => s.subject?.work !== undefined)) return [];
  const best = sustainedStep(steps, 'subject');
  const work = workPerMessage(best?.subject);
  const at =
    best === undefined
      ? `at p99 < ${SUSTAINED_P99_MS} ms: no step met it`
      : `at ${rateFormat.format(best.offeredPerSecond)} sends/s`;
  const figure = (what: string, value: number): string[] => [
    scenario,
    `${what} per delivered msg, ${at}`,
    best === undefined ? 'none' : Number.isFinite(value) ? perMessageFormat.format(value) : 'n/a',
    '',
    '',
  ];
  return [
    figure('SQL statements', work.statements),
    figure('commits', work.commits),
    figure('server CPU ms', work.serverCpuMs),
    figure('DB CPU ms (all postgres processes)', work.dbCpuMs),
  ];
}

function formatTiming(ms: number, complete: boolean): string {
  return complete ? `${formatMs(ms)} ms` : `> ${formatMs(ms)} ms (timed out)`;
}

function formatSustained(s: SustainedDelivery): string {
  if (s.offeredPerSecond === undefined) return 'none';
  const at = `(${rateFormat.format(s.offeredPerSecond)}${s.atTopStep ? ', top step' : ''})`;
  return `${s.atTopStep ? '≥ ' : ''}${formatRate(s.deliveredPerSecond)} ${at}`;
}

/** What `--json` writes for the realtime scenarios: the figures, ratios and headline. */
export function realtimeJson(
  steps: readonly RealtimeStep[],
  memory: readonly ConnectionMemory[],
  timings: readonly RealtimeTiming[] = [],
) {
  const scenarios = [...new Set(steps.map((s) => s.scenario))];
  return {
    sustainedP99Ms: SUSTAINED_P99_MS,
    sustained: scenarios.map((scenario) => {
      const ofScenario = steps.filter((s) => s.scenario === scenario);
      const subject = sustainedDelivery(ofScenario, 'subject');
      const reference = sustainedDelivery(ofScenario, 'reference');
      const best = sustainedStep(ofScenario, 'subject');
      return {
        scenario,
        subject,
        reference,
        ratio: subject.deliveredPerSecond / reference.deliveredPerSecond,
        ...(best?.subject?.work === undefined
          ? {}
          : { subjectWorkPerMessage: workPerMessage(best.subject) }),
      };
    }),
    steps: steps.map((step) => ({
      ...step,
      ratios: stepRatios(step),
      ...(step.subject?.work === undefined
        ? {}
        : { subjectWorkPerMessage: workPerMessage(step.subject) }),
    })),
    timings: timings.map((t) => ({ ...t, ratio: t.subjectMs / t.referenceMs })),
    memory: memory.map((m) => {
      const s = perConnection(m.subject);
      const r = perConnection(m.reference);
      return {
        ...m,
        perConnection: { subject: s, reference: r },
        ratios: { rss: s.rssBytes / r.rssBytes, heap: s.heapBytes / r.heapBytes },
      };
    }),
  };
}

const bytesFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

function formatBytes(bytes: number): string {
  return `${bytesFormat.format(bytes / 1024)} KiB`;
}

/**
 * One measured window of the SFU fan-out on one forwarder: a publisher's packets to `subscribers`
 * subscribers, counted between two quiet points (the publisher paused, everything in flight
 * arrived), so what was sent and what arrived are exact, not cut at a window's edge.
 */
export interface SfuWindow {
  readonly label: string;
  readonly seconds: number;
  /** Packets each subscriber should have received: what the publisher sent of what it consumes. */
  readonly expectedPerSubscriber: number;
  /** Packets received, all subscribers together. */
  readonly received: number;
  /**
   * The forwarder process's CPU time over the window: its threads' time on a CPU, from
   * /proc/<pid>/task/<tid>/schedstat (nanoseconds; /proc/<pid>/stat's 10 ms ticks where absent).
   */
  readonly engineCpuMs: number;
  /** The bench process's own CPU time over the window (the peers: ICE, DTLS, SRTP in JS). */
  readonly benchCpuMs: number;
  /** Why the ladder of this side stopped after this step, if it did. */
  readonly endedBy?: string;
}

/** One step of the fan-out ladder: one engine and the reference at the same subscriber count. */
export interface SfuFanOutStep {
  readonly scenario: string;
  readonly engine: string;
  readonly subscribers: number;
  /** Undefined when that side's ladder had already ended at a lower step. */
  readonly subject?: SfuWindow;
  readonly reference?: SfuWindow;
}

/** Loss counted as acceptable for `most subscribers at < 1 % loss`. */
export const SFU_MAX_LOSS_PERCENT = 1;

export interface SfuWindowFigures {
  /** Packets that never arrived, in % of those expected (negative: more arrived than sent). */
  readonly lossPercent: number;
  /** Forwarder CPU ms per second of the window per subscriber. */
  readonly cpuMsPerSubscriberSecond: number;
  /** Forwarder CPU µs per packet delivered. */
  readonly cpuUsPerPacket: number;
  /** The bench process's CPU, in % of one core. */
  readonly benchCpuPercent: number;
}

export function sfuWindowFigures(w: SfuWindow, subscribers: number): SfuWindowFigures {
  const expected = w.expectedPerSubscriber * subscribers;
  return {
    lossPercent: expected > 0 ? (100 * (expected - w.received)) / expected : Number.NaN,
    cpuMsPerSubscriberSecond: w.engineCpuMs / subscribers / w.seconds,
    cpuUsPerPacket: w.received > 0 ? (1000 * w.engineCpuMs) / w.received : Number.NaN,
    benchCpuPercent: (100 * w.benchCpuMs) / (1000 * w.seconds),
  };
}

/** The most subscribers a side forwarded to at < SFU_MAX_LOSS_PERCENT loss; 0 when none. */
export function sfuMostSubscribers(
  steps: readonly SfuFanOutStep[],
  side: 'subject' | 'reference',
): { subscribers: number; step?: SfuFanOutStep; atTopStep: boolean } {
  let best: SfuFanOutStep | undefined;
  for (const step of steps) {
    const w = step[side];
    if (w === undefined) continue;
    if (!(sfuWindowFigures(w, step.subscribers).lossPercent < SFU_MAX_LOSS_PERCENT)) continue;
    if (best === undefined || step.subscribers > best.subscribers) best = step;
  }
  const top = Math.max(...steps.map((s) => s.subscribers));
  return best === undefined
    ? { subscribers: 0, atTopStep: false }
    : { subscribers: best.subscribers, step: best, atTopStep: best.subscribers === top };
}

const percentFormat = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

function formatFigure(value: number): string {
  return Number.isFinite(value) ? perMessageFormat.format(value) : '';
}

/** The fan-out ladder: one row per engine and subscriber count, engine, ratios, reference. */
export function formatSfuSteps(steps: readonly SfuFanOutStep[]): string {
  const columns: { title: string; align: Align }[] = [
    { title: 'scenario', align: 'left' },
    { title: 'engine', align: 'left' },
    { title: 'subscribers', align: 'right' },
    { title: 'loss %', align: 'right' },
    { title: 'CPU ms/s per subscriber', align: 'right' },
    { title: 'CPU µs per packet', align: 'right' },
    { title: 'bench CPU %', align: 'right' },
    { title: 'ratio CPU per subscriber', align: 'right' },
    { title: 'ratio CPU per packet', align: 'right' },
    { title: 'reference', align: 'left' },
    { title: 'ref loss %', align: 'right' },
    { title: 'ref CPU ms/s per subscriber', align: 'right' },
    { title: 'ref CPU µs per packet', align: 'right' },
    { title: 'ref bench CPU %', align: 'right' },
  ];
  const side = (w: SfuWindow | undefined, subscribers: number): string[] => {
    if (w === undefined) return ['not run', '', '', ''];
    const f = sfuWindowFigures(w, subscribers);
    return [
      Number.isFinite(f.lossPercent) ? percentFormat.format(f.lossPercent) : '',
      formatFigure(f.cpuMsPerSubscriberSecond),
      formatFigure(f.cpuUsPerPacket),
      rateFormat.format(f.benchCpuPercent),
    ];
  };
  const rows = steps.map((step) => {
    const s = step.subject && sfuWindowFigures(step.subject, step.subscribers);
    const r = step.reference && sfuWindowFigures(step.reference, step.subscribers);
    const ratio = (a: number | undefined, b: number | undefined): string =>
      formatRatio(a === undefined || b === undefined ? Number.NaN : a / b);
    return [
      step.scenario,
      step.engine,
      rateFormat.format(step.subscribers),
      ...side(step.subject, step.subscribers),
      ratio(s?.cpuMsPerSubscriberSecond, r?.cpuMsPerSubscriberSecond),
      ratio(s?.cpuUsPerPacket, r?.cpuUsPerPacket),
      step.reference?.label ?? '',
      ...side(step.reference, step.subscribers),
    ];
  });
  return formatTable(columns, rows);
}

/** The fan-out headline per engine: most subscribers at < 1 % loss, and the CPU there. */
export function formatSfuSummary(steps: readonly SfuFanOutStep[]): string {
  const columns: { title: string; align: Align }[] = [
    { title: 'scenario', align: 'left' },
    { title: 'figure', align: 'left' },
    { title: 'engine', align: 'right' },
    { title: 'reference', align: 'right' },
    { title: 'ratio', align: 'right' },
  ];
  const rows: string[][] = [];
  for (const key of [...new Set(steps.map((s) => `${s.scenario}\u0000${s.engine}`))]) {
    const [scenario, engine] = key.split('\u0000') as [string, string];
    const ofEngine = steps.filter((s) => s.scenario === scenario && s.engine === engine);
    const subject = sfuMostSubscribers(ofEngine, 'subject');
    const reference = sfuMostSubscribers(ofEngine, 'reference');
    const ended = (side: 'subject' | 'reference'): string => {
      const last = [...ofEngine].reverse().find((s) => s[side] !== undefined)?.[side];
      return last?.endedBy ? ` (ended: ${last.endedBy})` : '';
    };
    const most = (m: ReturnType<typeof sfuMostSubscribers>, side: 'subject' | 'reference') =>
      `${m.atTopStep ? '≥ ' : ''}${rateFormat.format(m.subscribers)}${ended(side)}`;
    rows.push([
      scenario,
      `${engine}: most subscribers at loss < ${SFU_MAX_LOSS_PERCENT} %`,
      most(subject, 'subject'),
      most(reference, 'reference'),
      formatRatio(subject.subscribers / reference.subscribers),
    ]);
    // CPU per subscriber at the engine's best step, both sides at that subscriber count.
    const at = subject.step;
    if (at?.subject) {
      const s = sfuWindowFigures(at.subject, at.subscribers);
      const r = at.reference && sfuWindowFigures(at.reference, at.subscribers);
      rows.push([
        scenario,
        `${engine}: CPU ms/s per subscriber at ${rateFormat.format(at.subscribers)} subscribers`,
        formatFigure(s.cpuMsPerSubscriberSecond),
        r ? formatFigure(r.cpuMsPerSubscriberSecond) : 'not run',
        formatRatio(r ? s.cpuMsPerSubscriberSecond / r.cpuMsPerSubscriberSecond : Number.NaN),
      ]);
    }
  }
  return formatTable(columns, rows);
}

/** What `--json` writes for the SFU fan-out: every window with its figures, and the headline. */
export function sfuJson(steps: readonly SfuFanOutStep[]) {
  const engines = [...new Set(steps.map((s) => s.engine))];
  return {
    maxLossPercent: SFU_MAX_LOSS_PERCENT,
    mostSubscribers: engines.map((engine) => {
      const ofEngine = steps.filter((s) => s.engine === engine);
      return {
        engine,
        subject: sfuMostSubscribers(ofEngine, 'subject').subscribers,
        reference: sfuMostSubscribers(ofEngine, 'reference').subscribers,
      };
    }),
    steps: steps.map((step) => ({
      ...step,
      ...(step.subject ? { subjectFigures: sfuWindowFigures(step.subject, step.subscribers) } : {}),
      ...(step.reference
        ? { referenceFigures: sfuWindowFigures(step.reference, step.subscribers) }
        : {}),
    })),
  };
}
