import { randomBytes } from 'node:crypto';
import type { RealtimeStep, RealtimeStepStats, ServerMemory } from '../report';
import { BenchIdentityProvider } from './realtime/bench-identity';
import { BROADCAST_SERVER_MAIN } from './realtime/broadcast-server';
import { clientLimit, connectFigure, connectMeasured } from './realtime/connection-memory';
import { BENCH_TENANT, startLedgerline } from './realtime/ledgerline-child';
import { RealtimeClientPool, type ClientSpec } from './realtime/realtime-clients';
import { SendLadder, type Priming } from './realtime/send-ladder';
import { startServerChild, type ServerChild } from './realtime/server-child';
import { LedgerlineWorkProbe, type WorkProbe } from './realtime/work-probe';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

export interface FanOutOptions {
  readonly name: string;
  /** Members per conversation, each its own user and device (2 for direct conversations). */
  readonly groupSize: number;
  /** Conversations at BENCH_SCALE=1. */
  readonly groups: number;
  /** Sends per second over all clients, one step each, rising. */
  readonly rates: readonly number[];
  /**
   * Direct (1:1) conversations, created with `createDirectConversation` by their first member;
   * otherwise groups, created with `createGroupConversation`.
   */
  readonly direct: boolean;
}

/** Per step at BENCH_SCALE=1 (scaled, at least 1 s); with set-up, about a minute in all. */
const STEP_SECONDS = 3;
const WARMUP_SECONDS = 1;
const DRAIN_MS = 3_000;
/**
 * After connecting, up to this long (scaled) for the server to settle: Ledgerline writes each
 * user's presence and tells the members of their conversations, which must not fall in a step.
 */
const SETTLE_MAX_MS = 30_000;
/**
 * How long the first message of every conversation may take to reach every member, at
 * BENCH_SCALE=1 (scaled): see `prime`. Past it the steps run anyway, and the figure says so.
 */
const PRIME_TIMEOUT_MS = 90_000;
/** Message text: about what a chat message weighs (as the graphql sendMessage scenario). */
const TEXT_BYTES = 200;
const SERVER_POOL_SIZE = 20;
/** Conversation creations in flight at once. */
const CREATE_CONCURRENCY = 8;
const SUBJECT = 'ledgerline';
const REFERENCE = 'bare ws broadcast';

/** 1,000 clients in groups of 10: each send is 9 deliveries. */
export const realtimeFanOut: Scenario = realtimeFanOutScenario({
  name: 'realtime fan-out',
  groupSize: 10,
  groups: 100,
  rates: [50, 100, 200, 400, 800],
  direct: false,
});

/** 200 clients in 100 direct conversations: each send is one delivery. */
export const realtimeDirect: Scenario = realtimeFanOutScenario({
  name: 'realtime direct',
  groupSize: 2,
  groups: 100,
  rates: [100, 200, 400, 800, 1200, 1600, 2000],
  direct: true,
});

/**
 * A realtime scenario: clients in conversations of `groupSize`, connected, primed, then a rising
 * send rate, against the Ledgerline server and the bare ws broadcast server alike; on the
 * Ledgerline side, each step's work (SQL statements, commits, server and database CPU).
 */
export function realtimeFanOutScenario(options: FanOutOptions): Scenario {
  const { name, groupSize, groups: baseGroups, rates, direct } = options;
  if (direct && groupSize !== 2) throw new Error(`${name}: a direct conversation has 2 members`);
  const kind = direct ? 'direct (1:1) conversations' : `conversations of ${groupSize}`;
  return {
    name,
    summary:
      `${baseGroups * groupSize} realtime clients (x BENCH_SCALE) in ${kind}, ` +
      'each its own user and device, all in this process, against the server compiled and started ' +
      'in a process of its own on a fresh schema of the bench PostgreSQL; a rising send rate ' +
      `(${rates.join(', ')} sends/s over all clients), ${TEXT_BYTES}-byte texts; vs a bare ws ` +
      'server in its own process that acks at once and forwards each send to the other members, ' +
      "with the same clients and steps; per step, the Ledgerline side's SQL statements and " +
      'commits (its metrics), server CPU and database CPU (/proc) per delivered message',
    async run(context: ScenarioContext): Promise<ScenarioResult> {
      if (!context.db.openSibling) {
        context.progress(`${name}: skipped, it needs PostgreSQL (the server cannot share PGlite)`);
        return { comparisons: [], tallies: [] };
      }
      const groups = groupCount(context, options);
      const clients = groups * groupSize;
      const plan: Plan = {
        ...options,
        groups,
        stepSeconds: Math.max(1, STEP_SECONDS * context.scale),
        texts: Array.from({ length: 64 }, () =>
          randomBytes((TEXT_BYTES * 3) / 4).toString('base64'),
        ),
      };

      context.progress(`${name}: ${clients} clients against the ${REFERENCE} server`);
      const reference = await measureReference(context, plan);

      context.progress(`${name}: ${clients} clients against the Ledgerline server`);
      const db = await context.db.openSibling();
      let subject: SideResult;
      try {
        subject = await measureLedgerline({ ...context, db }, plan, db.url!);
      } finally {
        await db.close();
      }

      const steps: RealtimeStep[] = rates.map((rate) => ({
        scenario: name,
        clients,
        groupSize,
        offeredPerSecond: rate,
        ...(subject.steps.has(rate) ? { subject: subject.steps.get(rate)! } : {}),
        ...(reference.steps.has(rate) ? { reference: reference.steps.get(rate)! } : {}),
      }));
      return {
        comparisons: [],
        tallies: [],
        realtimeSteps: steps,
        connectionMemory: [
          {
            scenario: name,
            variant: `${subject.memory.connections.toLocaleString('en-US')} clients in conversations`,
            subject: subject.memory,
            reference: reference.memory,
          },
        ],
        realtimeTimings: [
          {
            scenario: name,
            figure: connectFigure(subject.memory.connections),
            subjectMs: subject.connectMs,
            referenceMs: reference.connectMs,
            subjectComplete: true,
            referenceComplete: true,
          },
          {
            scenario: name,
            figure: `first message in each of ${groups} conversations, until all delivered (cold)`,
            subjectMs: subject.priming.ms,
            referenceMs: reference.priming.ms,
            subjectComplete: subject.priming.complete,
            referenceComplete: reference.priming.complete,
          },
        ],
      };
    },
  };
}

interface Plan extends FanOutOptions {
  /** Conversations, scaled. */
  readonly groups: number;
  readonly stepSeconds: number;
  readonly texts: readonly string[];
}

interface SideResult {
  readonly steps: ReadonlyMap<number, RealtimeStepStats>;
  readonly memory: ServerMemory;
  readonly connectMs: number;
  readonly priming: Priming;
}

function groupCount(context: ScenarioContext, options: FanOutOptions): number {
  const { name, groupSize } = options;
  const wanted = Math.max(2, Math.round(options.groups * context.scale));
  const fits = Math.floor(clientLimit() / groupSize);
  if (wanted <= fits) return wanted;
  context.progress(
    `${name}: ${fits * groupSize} clients instead of ${wanted * groupSize}: ` +
      'the open-file limit (ulimit -n) allows no more',
  );
  return fits;
}

async function measureReference(context: ScenarioContext, plan: Plan): Promise<SideResult> {
  const server = await startServerChild(BROADCAST_SERVER_MAIN, {});
  try {
    // Rooms are whatever the clients name: any distinct ids do.
    const conversations = Array.from({ length: plan.groups }, (_, g) => `room-${g}`);
    const specs = clientSpecs(plan, conversations, () => undefined);
    return await measureSide(context, REFERENCE, server, specs, conversations, plan);
  } finally {
    await server.stop();
  }
}

async function measureLedgerline(
  context: ScenarioContext,
  plan: Plan,
  databaseUrl: string,
): Promise<SideResult> {
  const identity = await BenchIdentityProvider.start();
  try {
    const { name, groupSize } = plan;
    const users = Array.from({ length: plan.groups * groupSize }, (_, i) => `user-${i}`);
    const tokens = await Promise.all(users.map((u) => identity.token(BENCH_TENANT, u)));
    context.progress(`${name}: starting the Ledgerline server`);
    const server = await startLedgerline(databaseUrl, identity, SERVER_POOL_SIZE);
    try {
      context.progress(
        `${name}: creating ${plan.groups} ${plan.direct ? 'direct' : 'group'} conversations`,
      );
      const conversations = new Array<string>(plan.groups);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(CREATE_CONCURRENCY, plan.groups) }, async () => {
          for (let g = next++; g < plan.groups; g = next++) {
            context.signal.throwIfAborted();
            // The first member creates it, with the others.
            const others = users.slice(g * groupSize + 1, (g + 1) * groupSize);
            const token = tokens[g * groupSize]!;
            conversations[g] = plan.direct
              ? await server.createDirect(token, others[0]!)
              : await server.createGroup(token, `bench ${g}`, others);
          }
        }),
      );
      // Each client follows its conversation from its creation (revision 0) on.
      const specs = clientSpecs(plan, conversations, (i) => tokens[i]);
      const work = new LedgerlineWorkProbe(server.metricsUrl, server.pid);
      return await measureSide(context, SUBJECT, server, specs, conversations, plan, work);
    } finally {
      await server.stop();
    }
  } finally {
    await identity.close();
  }
}

function clientSpecs(
  plan: Plan,
  conversations: readonly string[],
  token: (client: number) => string | undefined,
): ClientSpec[] {
  const { groupSize } = plan;
  return Array.from({ length: conversations.length * groupSize }, (_, i) => {
    const t = token(i);
    return {
      ...(t === undefined ? {} : { token: t }),
      deviceId: `device-${i}`,
      conversationId: conversations[Math.floor(i / groupSize)]!,
      revision: 0,
    };
  });
}

async function measureSide(
  context: ScenarioContext,
  label: string,
  server: ServerChild,
  specs: readonly ClientSpec[],
  conversations: readonly string[],
  plan: Plan,
  work?: WorkProbe,
): Promise<SideResult> {
  const { name, groupSize } = plan;
  const pool = RealtimeClientPool.for(server.url);
  try {
    // The first group warms the server up; the memory per connection is the other clients'.
    const { memory, connectMs } = await connectMeasured(server, pool, {
      label,
      warm: specs.slice(0, groupSize),
      measured: specs.slice(groupSize),
      settleMaxMs: SETTLE_MAX_MS * context.scale,
      signal: context.signal,
      progress: (line) => context.progress(`${name}: ${line}`),
    });
    const ladder = new SendLadder(pool, {
      label,
      rates: plan.rates,
      stepSeconds: plan.stepSeconds,
      warmupSeconds: WARMUP_SECONDS,
      drainMs: DRAIN_MS,
      groupSize,
      conversations,
      texts: plan.texts,
      signal: context.signal,
      progress: (line) => context.progress(`${name}: ${line}`),
      ...(work === undefined ? {} : { work }),
    });
    context.progress(
      `${name}: ${label}: the first message of each of ${conversations.length} conversations`,
    );
    const priming = await ladder.prime(PRIME_TIMEOUT_MS * context.scale);
    context.progress(
      `${name}: ${label}: ${priming.complete ? 'all delivered' : 'timed out'} ` +
        `after ${Math.round(priming.ms)} ms`,
    );
    const steps = await ladder.run();
    return { steps, memory, connectMs, priming };
  } finally {
    await pool.close();
  }
}
