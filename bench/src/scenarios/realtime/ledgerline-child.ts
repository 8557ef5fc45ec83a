import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchIdentityProvider } from './bench-identity';
import { startServerChild, type ServerChild } from './server-child';

/** The compiled server, as `npm start` runs it (the bench runs from dist/ too). */
const SERVER_MAIN = resolve(__dirname, '../../../../apps/server/src/main.js');
/** Per GraphQL request while setting up. */
const REQUEST_TIMEOUT_MS = 30_000;

export const BENCH_TENANT = 'bench-realtime';

export interface LedgerlineChild extends ServerChild {
  /** Creates a group conversation owned by `ownerToken`'s user with `members`; answers its id. */
  createGroup(ownerToken: string, title: string, members: readonly string[]): Promise<string>;
  /** Creates (or finds) the direct conversation of `callerToken`'s user with `other`; answers its id. */
  createDirect(callerToken: string, other: string): Promise<string>;
  /** The operator listener's `http://host:port/metrics` (Prometheus text). */
  readonly metricsUrl: string;
}

/**
 * The Ledgerline server, compiled, in a process of its own on the bench's PostgreSQL schema,
 * trusting the bench's identity provider. What differs from a default deployment, and why:
 *
 * - the scheduled audit checkpoint is off (it has its own scenario, and would land in one step);
 * - idle logoff is an hour, so no BENCH_SCALE makes an idle client's connection end mid-run;
 * - the key ring's master key is generated for the run;
 * - the operator metrics listener takes a free port (chosen at start, read from the start-up log),
 *   so the bench can scrape what the server counts (SQL statements, commits).
 *
 * Rate limits, heartbeats, send buffers and presence stay at their defaults: they are part of
 * what a connection costs.
 */
export async function startLedgerline(
  databaseUrl: string,
  identity: BenchIdentityProvider,
  poolSize: number,
  /** More settings for a scenario that needs them (an SFU engine, TURN secrets for calls). */
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<LedgerlineChild> {
  const dataDir = await mkdtemp(join(tmpdir(), 'll-bench-realtime-'));
  let child: ServerChild;
  let metricsUrl: string;
  try {
    child = await startServerChild(SERVER_MAIN, {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      LEDGERLINE_DEV_MODE_WARNINGS: 'false',
      LEDGERLINE_PORT: '0',
      LEDGERLINE_METRICS_PORT: '0',
      LEDGERLINE_NODE_ID: 'bench-realtime',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: String(poolSize),
      LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
      LEDGERLINE_REALTIME_IDLE_TIMEOUT_MS: String(3_600_000),
      ...identity.serverEnv(),
      ...extraEnv,
    });
    try {
      metricsUrl = (await child.printed(/"metricsUrl":"(http:\/\/[^"]+)"/))[1]!;
    } catch (error) {
      await child.stop();
      throw error;
    }
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...child,
    metricsUrl,
    createGroup: async (ownerToken, title, members) =>
      (
        await mutate(child.url, ownerToken, CREATE_GROUP, {
          title,
          members: members.map((id) => ({ id })),
        })
      ).conversationId,
    createDirect: async (callerToken, other) =>
      (await mutate(child.url, callerToken, CREATE_DIRECT, { participants: [{ id: other }] }))
        .conversationId,
    async stop() {
      await child.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupConversationInput!) {
    ack: createGroupConversation(input: $input) {
      conversationId
    }
  }
`;

const CREATE_DIRECT = /* GraphQL */ `
  mutation CreateDirect($input: CreateDirectConversationInput!) {
    ack: createDirectConversation(input: $input) {
      conversationId
    }
  }
`;

/** Runs a conversation-creating mutation (its field aliased `ack`) as `token`'s user. */
async function mutate(
  url: string,
  token: string,
  query: string,
  input: Readonly<Record<string, unknown>>,
): Promise<{ conversationId: string }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables: { input } }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await res.json()) as {
    data?: { ack: { conversationId: string } };
    errors?: { message: string }[];
  };
  if (!res.ok || !body.data) {
    const messages = body.errors?.map((e) => e.message).join('; ') ?? 'no data';
    const name = /mutation (\w+)/.exec(query)?.[1] ?? 'mutation';
    throw new Error(`${name} answered ${res.status}: ${messages}`);
  }
  return body.data.ack;
}
