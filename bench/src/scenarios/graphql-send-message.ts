import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@ledgerline/kernel';
import { startServer, type RunningServer } from '../../../apps/server/src/bootstrap';
import type { Comparison } from '../report';
import type { Workload } from '../runner';
import { openSealingStack } from '../sealing-stack';
import { ledgerAppendWorkload, payloadLabel } from './append-workloads';
import { measureRow } from './measure-row';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'graphql sendMessage';
const CONCURRENCY = 16;
/** Message text, and the reference's payload: about what a chat message weighs. */
const TEXT_BYTES = 200;
/**
 * Timed mutations per side at scale 1. MAX_SECONDS caps each side; with the warm-ups and the
 * server's start this keeps the scenario under about 40 s.
 */
const OPS = 2_000;
const MAX_SECONDS = 15;
/** As the bench's own pool (main.ts), so neither side waits for a connection the other has. */
const SERVER_POOL_SIZE = '20';
const TENANT = 'bench-graphql';
const USER = 'alice';
/** Per request: a hung server fails the row instead of the run. */
const REQUEST_TIMEOUT_MS = 30_000;

const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;
const SEND = /* GraphQL */ `
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) {
      messageId
      position
    }
  }
`;

export const graphqlSendMessage: Scenario = {
  name: NAME,
  summary:
    'the sendMessage mutation over HTTP (fetch, keep-alive) to the server booted in-process on ' +
    'a fresh schema of the bench PostgreSQL, one group conversation per worker, events/s = ' +
    `mutations/s, vs Ledger.append of one sealed ${TEXT_BYTES}-byte event in that schema; ` +
    'client and server share this process',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.db.openSibling) {
      // The server would open a PGlite of its own, not the bench database: no like-for-like row.
      context.progress(`${NAME}: skipped, it needs PostgreSQL (the server cannot share PGlite)`);
      return { comparisons: [], tallies: [] };
    }
    // The server refuses to start on a database holding data keys wrapped by a key ring it does not
    // have, which the other scenarios leave behind: it and its reference get a schema of their own.
    const db = await context.db.openSibling();
    try {
      return { comparisons: [await measureAgainstServer({ ...context, db })], tallies: [] };
    } finally {
      await db.close();
    }
  },
};

async function measureAgainstServer(context: ScenarioContext): Promise<Comparison> {
  const { db } = context;
  const dataDir = await mkdtemp(join(tmpdir(), 'll-bench-server-'));
  let server: RunningServer | undefined;
  try {
    context.progress(`${NAME}: starting the server`);
    server = await startServer(
      loadConfig({
        LEDGERLINE_PORT: '0',
        LEDGERLINE_METRICS_PORT: '0',
        LEDGERLINE_DATA_DIR: dataDir,
        DATABASE_URL: db.url,
        DATABASE_POOL_SIZE: SERVER_POOL_SIZE,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'development',
        LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
        // One user sends every message: the per-user request rate must not be what is measured.
        LEDGERLINE_REALTIME_RATE_PER_USER: '100000',
      }),
    );
    const client = new GraphqlClient(server.url, await devToken(server.url));
    const conversations: string[] = [];
    for (let w = 0; w < CONCURRENCY; w++) {
      const created = await client.request<{
        createGroupConversation: { conversationId: string };
      }>(CREATE_GROUP, { input: { title: `bench ${w}`, members: [{ id: 'bob' }] } });
      conversations.push(created.createGroupConversation.conversationId);
    }

    // Opened after the server, whose start-up has migrated the schema both use.
    const stack = await openSealingStack(db);
    try {
      return await measureRow(context, {
        scenario: NAME,
        variant: payloadLabel(TEXT_BYTES),
        batch: 1,
        concurrency: CONCURRENCY,
        subject: sendMessageWorkload(client, conversations),
        reference: ledgerAppendWorkload(stack.newLedger(), 1, TEXT_BYTES),
        ops: OPS,
        maxSeconds: MAX_SECONDS,
      });
    } finally {
      await stack.close();
    }
  } finally {
    await server?.shutdown('bench done');
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Each worker sends to its own conversation, so workers never queue on one stream. */
function sendMessageWorkload(client: GraphqlClient, conversations: readonly string[]): Workload {
  return {
    label: 'sendMessage',
    eventsPerOp: 1,
    prepare(worker, ops) {
      const conversationId = conversations[worker]!;
      // Base64 of random bytes: TEXT_BYTES printable characters, no mention syntax.
      const bodies = Array.from({ length: ops }, () =>
        JSON.stringify({
          query: SEND,
          variables: {
            input: {
              conversationId,
              clientMessageId: randomUUID(),
              text: randomBytes((TEXT_BYTES * 3) / 4).toString('base64'),
            },
          },
        }),
      );
      return async (i) => {
        await client.post(bodies[i]!);
      };
    },
  };
}

class GraphqlClient {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  request<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    return this.post(JSON.stringify({ query, variables })) as Promise<T>;
  }

  /** One POST /graphql; throws on an HTTP or GraphQL error. Reads the whole body either way. */
  async post(body: string): Promise<unknown> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    const parsed = (text ? JSON.parse(text) : {}) as {
      data?: unknown;
      errors?: { message: string }[];
    };
    if (!res.ok || parsed.errors?.length || parsed.data == null) {
      const messages = parsed.errors?.map((e) => e.message).join('; ');
      throw new Error(`POST /graphql answered ${res.status}: ${messages ?? 'no data'}`);
    }
    return parsed.data;
  }
}

async function devToken(url: string): Promise<string> {
  const res = await fetch(`${url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenantId: TENANT, userId: USER }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (res.status !== 200) throw new Error(`POST /dev/token answered ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
