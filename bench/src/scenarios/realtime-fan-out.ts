import { randomBytes } from 'node:crypto';
import type { RealtimeStep, RealtimeStepStats, ServerMemory } from '../report';
import { BenchIdentityProvider } from './realtime/bench-identity';
import { BROADCAST_SERVER_MAIN } from './realtime/broadcast-server';
import { clientLimit, connectFigure, connectMeasured } from './realtime/connection-memory';
import { BENCH_TENANT, startLedgerline } from './realtime/ledgerline-child';
import { RealtimeClientPool, type ClientSpec } from './realtime/realtime-clients';
import { SendLadder, type Priming } from './realtime/send-ladder';
import { startServerChild, type ServerChild } from './realtime/server-child';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'realtime fan-out';
const GROUP_SIZE = 10;
/** Groups at BENCH_SCALE=1: 1,000 clients. */
const GROUPS = 100;
/** Sends per second over all clients, one step each. */
const RATES = [50, 100, 200, 400, 800] as const;
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
/** Group creations in flight at once. */
const CREATE_CONCURRENCY = 8;
const SUBJECT = 'ledgerline';
const REFERENCE = 'bare ws broadcast';

export const realtimeFanOut: Scenario = {
  name: NAME,
  summary:
    `${GROUPS * GROUP_SIZE} realtime clients (x BENCH_SCALE) in conversations of ${GROUP_SIZE}, ` +
    'each its own user and device, all in this process, against the server compiled and started ' +
    'in a process of its own on a fresh schema of the bench PostgreSQL; a rising send rate ' +
    `(${RATES.join(', ')} sends/s over all clients), ${TEXT_BYTES}-byte texts; vs a bare ws ` +
    'server in its own process that acks at once and forwards each send to the other members, ' +
    'with the same clients and steps',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.db.openSibling) {
      context.progress(`${NAME}: skipped, it needs PostgreSQL (the server cannot share PGlite)`);
      return { comparisons: [], tallies: [] };
    }
    const groups = groupCount(context);
    const clients = groups * GROUP_SIZE;
    const plan: Plan = {
      groups,
      stepSeconds: Math.max(1, STEP_SECONDS * context.scale),
      texts: Array.from({ length: 64 }, () => randomBytes((TEXT_BYTES * 3) / 4).toString('base64')),
    };

    context.progress(`${NAME}: ${clients} clients against the ${REFERENCE} server`);
    const reference = await measureReference(context, plan);

    context.progress(`${NAME}: ${clients} clients against the Ledgerline server`);
    const db = await context.db.openSibling();
    let subject: SideResult;
    try {
      subject = await measureLedgerline({ ...context, db }, plan, db.url!);
    } finally {
      await db.close();
    }

    const steps: RealtimeStep[] = RATES.map((rate) => ({
      scenario: NAME,
      clients,
      groupSize: GROUP_SIZE,
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
          scenario: NAME,
          variant: `${subject.memory.connections.toLocaleString('en-US')} clients in conversations`,
          subject: subject.memory,
          reference: reference.memory,
        },
      ],
      realtimeTimings: [
        {
          scenario: NAME,
          figure: connectFigure(subject.memory.connections),
          subjectMs: subject.connectMs,
          referenceMs: reference.connectMs,
          subjectComplete: true,
          referenceComplete: true,
        },
        {
          scenario: NAME,
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

interface Plan {
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

function groupCount(context: ScenarioContext): number {
  const wanted = Math.max(2, Math.round(GROUPS * context.scale));
  const fits = Math.floor(clientLimit() / GROUP_SIZE);
  if (wanted <= fits) return wanted;
  context.progress(
    `${NAME}: ${fits * GROUP_SIZE} clients instead of ${wanted * GROUP_SIZE}: ` +
      'the open-file limit (ulimit -n) allows no more',
  );
  return fits;
}

async function measureReference(context: ScenarioContext, plan: Plan): Promise<SideResult> {
  const server = await startServerChild(BROADCAST_SERVER_MAIN, {});
  try {
    // Rooms are whatever the clients name: any distinct ids do.
    const conversations = Array.from({ length: plan.groups }, (_, g) => `room-${g}`);
    const specs = clientSpecs(conversations, () => undefined);
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
    const users = Array.from({ length: plan.groups * GROUP_SIZE }, (_, i) => `user-${i}`);
    const tokens = await Promise.all(users.map((u) => identity.token(BENCH_TENANT, u)));
    context.progress(`${NAME}: starting the Ledgerline server`);
    const server = await startLedgerline(databaseUrl, identity, SERVER_POOL_SIZE);
    try {
      context.progress(`${NAME}: creating ${plan.groups} group conversations`);
      const conversations = new Array<string>(plan.groups);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(CREATE_CONCURRENCY, plan.groups) }, async () => {
          for (let g = next++; g < plan.groups; g = next++) {
            context.signal.throwIfAborted();
            const members = users.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE);
            conversations[g] = await server.createGroup(
              tokens[g * GROUP_SIZE]!,
              `bench ${g}`,
              members.slice(1),
            );
          }
        }),
      );
      // Each client follows its conversation from its creation (revision 0) on.
      const specs = clientSpecs(conversations, (i) => tokens[i]);
      return await measureSide(context, SUBJECT, server, specs, conversations, plan);
    } finally {
      await server.stop();
    }
  } finally {
    await identity.close();
  }
}

function clientSpecs(
  conversations: readonly string[],
  token: (client: number) => string | undefined,
): ClientSpec[] {
  return Array.from({ length: conversations.length * GROUP_SIZE }, (_, i) => {
    const t = token(i);
    return {
      ...(t === undefined ? {} : { token: t }),
      deviceId: `device-${i}`,
      conversationId: conversations[Math.floor(i / GROUP_SIZE)]!,
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
): Promise<SideResult> {
  const pool = RealtimeClientPool.for(server.url);
  try {
    // The first group warms the server up; the memory per connection is the other clients'.
    const { memory, connectMs } = await connectMeasured(server, pool, {
      label,
      warm: specs.slice(0, GROUP_SIZE),
      measured: specs.slice(GROUP_SIZE),
      settleMaxMs: SETTLE_MAX_MS * context.scale,
      signal: context.signal,
      progress: (line) => context.progress(`${NAME}: ${line}`),
    });
    const ladder = new SendLadder(pool, {
      label,
      rates: RATES,
      stepSeconds: plan.stepSeconds,
      warmupSeconds: WARMUP_SECONDS,
      drainMs: DRAIN_MS,
      groupSize: GROUP_SIZE,
      conversations,
      texts: plan.texts,
      signal: context.signal,
      progress: (line) => context.progress(`${NAME}: ${line}`),
    });
    context.progress(
      `${NAME}: ${label}: the first message of each of ${conversations.length} conversations`,
    );
    const priming = await ladder.prime(PRIME_TIMEOUT_MS * context.scale);
    context.progress(
      `${NAME}: ${label}: ${priming.complete ? 'all delivered' : 'timed out'} ` +
        `after ${Math.round(priming.ms)} ms`,
    );
    const steps = await ladder.run();
    return { steps, memory, connectMs, priming };
  } finally {
    await pool.close();
  }
}
