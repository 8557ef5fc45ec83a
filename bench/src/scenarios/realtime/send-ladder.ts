import { performance } from 'node:perf_hooks';
import { percentile, workPerMessage, type RealtimeStepStats, type StepWork } from '../../report';
import type { FrameSink, RealtimeClientPool, ServerFrame } from './realtime-clients';
import { workBetween, type WorkProbe } from './work-probe';

export interface LadderOptions {
  /** The server's name in the table. */
  readonly label: string;
  /** Sends per second over all clients, one step each, rising. */
  readonly rates: readonly number[];
  readonly stepSeconds: number;
  /** Untimed sends at the first rate before the first step (JIT, caches, pools on both sides). */
  readonly warmupSeconds: number;
  /** How long a step waits after its last send for the acks and deliveries still on their way. */
  readonly drainMs: number;
  /**
   * Clients `g * groupSize` to `g * groupSize + groupSize - 1` are the members of group g, whose
   * conversation is `conversations[g]`.
   */
  readonly groupSize: number;
  readonly conversations: readonly string[];
  /** Message texts, used in turn. */
  readonly texts: readonly string[];
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
  /** Read just before each step's first send and after its drain: the step's `work`. */
  readonly work?: WorkProbe;
}

/** How the first message of every conversation went (see SendLadder.prime). */
export interface Priming {
  /** From the first send to the last delivery (or to the time-out). */
  readonly ms: number;
  /** Every send acknowledged and delivered to every other member in time. */
  readonly complete: boolean;
}

/** p99 send-to-deliver past which a step saturated the server: the higher steps are skipped. */
const SATURATED_P99_MS = 1_000;
/** Between steps, so one step's stragglers are not the next one's load. */
const PAUSE_MS = 250;

/**
 * Sends from a pool's clients and measures what comes of it, on this process's clock: times are
 * taken just before a client writes its send, and when a reply or `event` frame is read. An event
 * frame is matched to its send by client message id; the sender's own copy (Ledgerline delivers a
 * user's sends to their devices, the sending one included) is not counted.
 *
 * The k-th send of a step goes to group k mod G, and within it to the members in turn, so every
 * conversation carries the same load.
 */
export class SendLadder {
  private readonly tracker: SendTracker;
  private sequence = 0;

  constructor(
    private readonly pool: RealtimeClientPool,
    private readonly options: LadderOptions,
  ) {
    this.tracker = new SendTracker(options.groupSize);
  }

  /**
   * One message in every conversation at once (from its first member), waiting up to `timeoutMs`
   * for all of them to reach every member. Untimed for the steps: it brings whatever a server
   * learns once per conversation (memberships, caches) to its steady state first.
   */
  async prime(timeoutMs: number): Promise<Priming> {
    return this.attached(async () => {
      const step = this.tracker.step('prime');
      for (let g = 0; g < this.options.conversations.length; g++) this.sendAt(step, g);
      await this.drain(step, timeoutMs);
      return { ms: Math.max(0, step.lastDeliveryAt - step.firstSendAt), complete: step.complete };
    });
  }

  /**
   * The rising send rate: a warm-up at the first rate, then each step at its rate (open loop: the
   * k-th send is due at k / rate seconds, whatever the answers), then up to `drainMs` for the
   * acks and deliveries still on their way. Stops rising once a step saturates the server
   * (anything lost, or p99 send-to-deliver over a second): the steps above it are not run, so a
   * backlog does not spill into them.
   */
  async run(): Promise<Map<number, RealtimeStepStats>> {
    const { options, pool } = this;
    return this.attached(async () => {
      const results = new Map<number, RealtimeStepStats>();
      const rate0 = options.rates[0]!;
      options.progress(`${options.label}: warm-up at ${rate0} sends/s`);
      await this.runStep(this.tracker.step('warm-up'), rate0, options.warmupSeconds);

      for (const rate of options.rates) {
        options.signal.throwIfAborted();
        const step = this.tracker.step(`r${rate}`);
        const before = await options.work?.read();
        await this.runStep(step, rate, options.stepSeconds);
        const after = await options.work?.read();
        const work = before && after ? workBetween(before, after) : undefined;
        const stats = step.stats(options.label, options.stepSeconds, work);
        results.set(rate, stats);
        const errors =
          step.errorCodes.size > 0
            ? `, errors ${JSON.stringify(Object.fromEntries(step.errorCodes))}`
            : '';
        options.progress(
          `${options.label}: ${rate} sends/s: ${Math.round(stats.deliveredPerSecond)} delivered/s, ` +
            `send-to-deliver p50 ${stats.deliverP50Ms.toFixed(1)} ms, ` +
            `p99 ${stats.deliverP99Ms.toFixed(1)} ms${describeWork(stats)}${errors}`,
        );
        if (saturated(stats)) {
          options.progress(`${options.label}: saturated at ${rate} sends/s; higher steps skipped`);
          break;
        }
        await sleep(PAUSE_MS);
      }
      if (pool.closedCodes.size > 0) {
        throw new Error(
          `${options.label} closed connections during the run: ` +
            JSON.stringify(Object.fromEntries(pool.closedCodes)),
        );
      }
      return results;
    });
  }

  private async attached<T>(body: () => Promise<T>): Promise<T> {
    this.pool.sink = this.tracker;
    try {
      return await body();
    } finally {
      this.pool.sink = undefined;
    }
  }

  private sendAt(step: StepTally, k: number): void {
    const { conversations, groupSize, texts } = this.options;
    const group = k % conversations.length;
    const sender = group * groupSize + (Math.floor(k / conversations.length) % groupSize);
    const id = `${step.tag}-${this.sequence++}`;
    const frame = JSON.stringify({
      v: 1,
      op: 'send',
      ref: id,
      conversationId: conversations[group],
      clientMessageId: id,
      text: texts[k % texts.length],
    });
    this.tracker.sent(id, sender, step, performance.now());
    this.pool.send(sender, frame);
  }

  private async runStep(step: StepTally, rate: number, seconds: number): Promise<void> {
    const { signal } = this.options;
    const durationMs = seconds * 1000;
    const start = performance.now();
    let k = 0;
    for (;;) {
      signal.throwIfAborted();
      const elapsed = performance.now() - start;
      if (elapsed >= durationMs) break;
      const due = Math.floor((elapsed / 1000) * rate) + 1;
      while (k < due) this.sendAt(step, k++);
      await sleep(1);
    }
    await this.drain(step, this.options.drainMs);
  }

  private async drain(step: StepTally, maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    while (!step.complete && performance.now() < until) {
      this.options.signal.throwIfAborted();
      await sleep(5);
    }
    step.finish();
  }
}

function describeWork(stats: RealtimeStepStats): string {
  if (stats.work === undefined) return '';
  const per = workPerMessage(stats);
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
  return (
    `; per delivered message ${f(per.statements)} statements, ${f(per.commits)} commits, ` +
    `server CPU ${f(per.serverCpuMs)} ms, DB CPU ${f(per.dbCpuMs)} ms`
  );
}

function saturated(stats: RealtimeStepStats): boolean {
  return (
    stats.failed > 0 ||
    stats.delivered < stats.expectedDeliveries ||
    stats.deliverP99Ms > SATURATED_P99_MS
  );
}

interface SendRecord {
  readonly sentAt: number;
  readonly sender: number;
  readonly step: StepTally;
  answered: boolean;
  /** Receiving members so far, as a bit per member slot. */
  seen: number;
}

/** Matches replies and events to the sends they answer, per step. */
class SendTracker implements FrameSink {
  private readonly inFlight = new Map<string, SendRecord>();

  constructor(private readonly groupSize: number) {
    if (groupSize > 31) throw new Error('groups of at most 31 (one bit per member)');
  }

  step(tag: string): StepTally {
    return new StepTally(tag, this.groupSize, (id) => this.inFlight.delete(id));
  }

  sent(id: string, sender: number, step: StepTally, at: number): void {
    this.inFlight.set(id, { sentAt: at, sender, step, answered: false, seen: 0 });
    step.onSent(id, at);
  }

  reply(_client: number, frame: ServerFrame, at: number): void {
    const record = typeof frame.ref === 'string' ? this.inFlight.get(frame.ref) : undefined;
    if (!record || record.answered) return;
    record.answered = true;
    if (frame.ok) record.step.onAck(at - record.sentAt);
    else record.step.onFailure(frame.error?.code ?? 'unknown');
  }

  event(client: number, frame: ServerFrame, at: number): void {
    const id = frame.clientMessageId;
    const record = id === undefined ? undefined : this.inFlight.get(id);
    if (!record || client === record.sender) return;
    const bit = 1 << (client % this.groupSize);
    if (record.seen & bit) {
      record.step.onDuplicate();
      return;
    }
    record.seen |= bit;
    record.step.onDelivery(at - record.sentAt, at);
  }
}

/** One step's sends and what came of them. */
class StepTally {
  readonly errorCodes = new Map<string, number>();
  firstSendAt = Number.NaN;
  lastDeliveryAt = Number.NaN;
  private readonly ids: string[] = [];
  private readonly ackLatencies: number[] = [];
  private readonly deliverLatencies: number[] = [];
  private sentCount = 0;
  private answered = 0;
  private acked = 0;
  private failed = 0;
  private delivered = 0;
  private duplicates = 0;

  constructor(
    readonly tag: string,
    private readonly groupSize: number,
    private readonly forget: (id: string) => void,
  ) {}

  /** Every send answered `ok`, and delivered to all the other members. */
  get complete(): boolean {
    return (
      this.answered === this.sentCount &&
      this.failed === 0 &&
      this.delivered >= this.expectedDeliveries
    );
  }

  private get expectedDeliveries(): number {
    return this.acked * (this.groupSize - 1);
  }

  onSent(id: string, at: number): void {
    if (this.sentCount === 0) this.firstSendAt = at;
    this.sentCount += 1;
    this.ids.push(id);
  }

  onAck(latencyMs: number): void {
    this.answered += 1;
    this.acked += 1;
    this.ackLatencies.push(latencyMs);
  }

  onFailure(code: string): void {
    this.answered += 1;
    this.failed += 1;
    this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
  }

  onDelivery(latencyMs: number, at: number): void {
    this.delivered += 1;
    this.deliverLatencies.push(latencyMs);
    this.lastDeliveryAt = at;
  }

  onDuplicate(): void {
    this.duplicates += 1;
  }

  /** The drain is over: what has not come counts as lost, and the step's sends are forgotten. */
  finish(): void {
    const unanswered = this.sentCount - this.answered;
    if (unanswered > 0) this.errorCodes.set('no reply', unanswered);
    this.failed += unanswered;
    this.answered = this.sentCount;
    for (let i = 0; i < unanswered; i++) this.ackLatencies.push(Number.POSITIVE_INFINITY);
    for (let i = this.delivered; i < this.expectedDeliveries; i++) {
      this.deliverLatencies.push(Number.POSITIVE_INFINITY);
    }
    for (const id of this.ids) this.forget(id);
    this.ids.length = 0;
  }

  stats(label: string, seconds: number, work?: StepWork): RealtimeStepStats {
    const ack = Float64Array.from(this.ackLatencies).sort();
    const deliver = Float64Array.from(this.deliverLatencies).sort();
    const deliverySeconds = (this.lastDeliveryAt - this.firstSendAt) / 1000;
    return {
      label,
      sendsPerSecond: this.sentCount / seconds,
      sent: this.sentCount,
      acked: this.acked,
      failed: this.failed,
      expectedDeliveries: this.expectedDeliveries,
      delivered: this.delivered,
      duplicates: this.duplicates,
      deliveredPerSecond: this.delivered > 0 ? this.delivered / deliverySeconds : 0,
      ackP50Ms: percentile(ack, 50),
      ackP99Ms: percentile(ack, 99),
      deliverP50Ms: percentile(deliver, 50),
      deliverP99Ms: percentile(deliver, 99),
      ...(work === undefined ? {} : { work }),
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
