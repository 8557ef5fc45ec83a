import { BenchIdentityProvider } from './realtime/bench-identity';
import { BROADCAST_SERVER_MAIN } from './realtime/broadcast-server';
import {
  clientLimit,
  connectFigure,
  connectMeasured,
  reconnectFigure,
  reconnectMeasured,
  type MeasuredConnections,
} from './realtime/connection-memory';
import { BENCH_TENANT, startLedgerline } from './realtime/ledgerline-child';
import { RealtimeClientPool, type ClientSpec } from './realtime/realtime-clients';
import { startServerChild, type ServerChild } from './realtime/server-child';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'realtime idle connections';
/** Idle clients at BENCH_SCALE=1 (scaled, within the open-file limit). */
const CLIENTS = 10_000;
/** Connected before the first memory reading: the server's lazy start-up is not a connection's. */
const WARM_CLIENTS = 100;
const SERVER_POOL_SIZE = 20;
/**
 * After connecting, up to this long for the server to settle before its memory is read. Ledgerline
 * goes on writing the new users' presence for a while after they synced (about 120 users/s on two
 * cores); what that backlog holds did not change the heap reading by a tenth of a percent when
 * tried, so the bench does not wait for the end of it.
 */
const SETTLE_MAX_MS = 5_000;
const SUBJECT = 'ledgerline';
const REFERENCE = 'bare ws broadcast';

export const realtimeIdleConnections: Scenario = {
  name: NAME,
  summary:
    `${CLIENTS.toLocaleString('en-US')} idle realtime clients (x BENCH_SCALE), each its own user ` +
    'and device, said hello and synced to no conversation, then silent (answering pings); server ' +
    'memory per connection, the server compiled and started in a process of its own on a fresh ' +
    'schema of the bench PostgreSQL, vs the bare ws broadcast server with the same clients; then ' +
    'the same clients close and connect again at once (what a node restart asks of the server)',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.db.openSibling) {
      context.progress(`${NAME}: skipped, it needs PostgreSQL (the server cannot share PGlite)`);
      return { comparisons: [], tallies: [] };
    }
    const clients = clientCount(context);

    context.progress(`${NAME}: ${clients} clients against the ${REFERENCE} server`);
    const referenceServer = await startServerChild(BROADCAST_SERVER_MAIN, {});
    let reference: Measured;
    try {
      reference = await measure(
        context,
        REFERENCE,
        referenceServer,
        idleSpecs(clients, () => undefined),
      );
    } finally {
      await referenceServer.stop();
    }

    context.progress(`${NAME}: ${clients} clients against the Ledgerline server`);
    const db = await context.db.openSibling();
    let subject: Measured;
    try {
      const identity = await BenchIdentityProvider.start();
      try {
        const tokens = await Promise.all(
          Array.from({ length: clients }, (_, i) => identity.token(BENCH_TENANT, `idle-${i}`)),
        );
        const server = await startLedgerline(db.url!, identity, SERVER_POOL_SIZE);
        try {
          subject = await measure(
            context,
            SUBJECT,
            server,
            idleSpecs(clients, (i) => tokens[i]),
          );
        } finally {
          await server.stop();
        }
      } finally {
        await identity.close();
      }
    } finally {
      await db.close();
    }

    return {
      comparisons: [],
      tallies: [],
      connectionMemory: [
        {
          scenario: NAME,
          variant: `${(clients - WARM_CLIENTS).toLocaleString('en-US')} idle clients`,
          subject: subject.memory,
          reference: reference.memory,
        },
      ],
      realtimeTimings: [
        {
          scenario: NAME,
          figure: connectFigure(clients - WARM_CLIENTS),
          subjectMs: subject.connectMs,
          referenceMs: reference.connectMs,
          subjectComplete: true,
          referenceComplete: true,
        },
        {
          scenario: NAME,
          figure: reconnectFigure(clients - WARM_CLIENTS),
          subjectMs: subject.reconnectMs,
          referenceMs: reference.reconnectMs,
          subjectComplete: true,
          referenceComplete: true,
        },
      ],
    };
  },
};

interface Measured extends MeasuredConnections {
  /** Connecting the measured clients again right after they all closed. */
  readonly reconnectMs: number;
}

function clientCount(context: ScenarioContext): number {
  const wanted = Math.max(2 * WARM_CLIENTS, Math.round(CLIENTS * context.scale));
  const fits = clientLimit();
  if (wanted <= fits) return wanted;
  context.progress(
    `${NAME}: ${fits} clients instead of ${wanted}: the open-file limit (ulimit -n) allows no more`,
  );
  return fits;
}

function idleSpecs(clients: number, token: (client: number) => string | undefined): ClientSpec[] {
  return Array.from({ length: clients }, (_, i) => {
    const t = token(i);
    return { ...(t === undefined ? {} : { token: t }), deviceId: `idle-device-${i}` };
  });
}

async function measure(
  context: ScenarioContext,
  label: string,
  server: ServerChild,
  specs: readonly ClientSpec[],
): Promise<Measured> {
  const connected = await connectOnce(context, label, server, specs);
  // The same clients again, as after a restart of the node they were on.
  const reconnectMs = await reconnectMeasured(
    RealtimeClientPool.for(server.url),
    specs.slice(WARM_CLIENTS),
    { label, signal: context.signal, progress: (line) => context.progress(`${NAME}: ${line}`) },
  );
  return { ...connected, reconnectMs };
}

async function connectOnce(
  context: ScenarioContext,
  label: string,
  server: ServerChild,
  specs: readonly ClientSpec[],
): Promise<MeasuredConnections> {
  const pool = RealtimeClientPool.for(server.url);
  try {
    const measured = await connectMeasured(server, pool, {
      label,
      warm: specs.slice(0, WARM_CLIENTS),
      measured: specs.slice(WARM_CLIENTS),
      settleMaxMs: SETTLE_MAX_MS,
      signal: context.signal,
      progress: (line) => context.progress(`${NAME}: ${line}`),
    });
    if (pool.closedCodes.size > 0) {
      throw new Error(
        `${label} closed idle connections: ${JSON.stringify(Object.fromEntries(pool.closedCodes))}`,
      );
    }
    return measured;
  } finally {
    await pool.close();
  }
}
