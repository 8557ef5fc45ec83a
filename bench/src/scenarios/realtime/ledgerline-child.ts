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
}

/**
 * The Ledgerline server, compiled, in a process of its own on the bench's PostgreSQL schema,
 * trusting the bench's identity provider. What differs from a default deployment, and why:
 *
 * - the scheduled audit checkpoint is off (it has its own scenario, and would land in one step);
 * - idle logoff is an hour, so no BENCH_SCALE makes an idle client's connection end mid-run;
 * - the key ring's master key is generated for the run.
 *
 * Rate limits, heartbeats, send buffers and presence stay at their defaults: they are part of
 * what a connection costs.
 */
export async function startLedgerline(
  databaseUrl: string,
  identity: BenchIdentityProvider,
  poolSize: number,
): Promise<LedgerlineChild> {
  const dataDir = await mkdtemp(join(tmpdir(), 'll-bench-realtime-'));
  let child: ServerChild;
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
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...child,
    createGroup: (ownerToken, title, members) => createGroup(child.url, ownerToken, title, members),
    async stop() {
      await child.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;

async function createGroup(
  url: string,
  ownerToken: string,
  title: string,
  members: readonly string[],
): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ownerToken}` },
    body: JSON.stringify({
      query: CREATE_GROUP,
      variables: { input: { title, members: members.map((id) => ({ id })) } },
    }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await res.json()) as {
    data?: { createGroupConversation: { conversationId: string } };
    errors?: { message: string }[];
  };
  if (!res.ok || !body.data) {
    const messages = body.errors?.map((e) => e.message).join('; ') ?? 'no data';
    throw new Error(`createGroupConversation answered ${res.status}: ${messages}`);
  }
  return body.data.createGroupConversation.conversationId;
}
