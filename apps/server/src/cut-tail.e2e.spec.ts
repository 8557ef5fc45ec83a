import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointJob, MerkleLogStore, TreeHeadSigner } from '@ledgerline/audit';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { DEV_TOKEN_ISSUER, type DevTokenIssuer } from '@ledgerline/identity';
import { CLOCK, loadConfig, type Clock } from '@ledgerline/kernel';
import {
  clientHeaders,
  graphqlRequest,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';
import { startServer, type RunningServer } from './bootstrap';

// Drives a booted server: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Issue 10, item 4: a stream's last events deleted and `ll_streams.revision` lowered to match made
// a member's read show a message as SHREDDED and the auditor's history 0 messages with no gap.
// Reads now hold every stream against the latest signed checkpoint.

const TENANT = 'clinic-tail';

describe('a cut tail, against the latest signed checkpoint (the whole server in this process)', () => {
  let dataDir: string;
  let server: RunningServer;
  let issuer: DevTokenIssuer;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-cut-tail-e2e-'));
    server = await startServer(
      loadConfig({
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        LEDGERLINE_PORT: '0',
        LEDGERLINE_METRICS_PORT: '0',
        LEDGERLINE_DATA_DIR: dataDir,
      }),
    );
    issuer = server.app.get<DevTokenIssuer>(DEV_TOKEN_ISSUER);
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await server?.shutdown('test over');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const token = async (userId: string, roles = ['user']) =>
    (await issuer.issue({ tenantId: TENANT, userId, roles })).token;

  /** The GraphQL answer's error codes and reasons (none when it succeeded). */
  async function errorsOf(bearer: string, query: string, variables: Record<string, unknown>) {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...clientHeaders(bearer) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as {
      errors?: { extensions?: { code?: string; reason?: string } }[];
    };
    return (body.errors ?? []).map((e) => [e.extensions?.code, e.extensions?.reason]);
  }

  it('a member’s read and the auditor’s history refuse the stream as complete, with a typed code', async () => {
    const alice = await token('alice');
    const { createGroupConversation } = await graphqlRequest<{
      createGroupConversation: { conversationId: string };
    }>(
      server.url,
      alice,
      `mutation($input: CreateGroupConversationInput!) { createGroupConversation(input: $input) { conversationId } }`,
      { input: { title: 'Ward 5', members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }] } },
    );
    const c = createGroupConversation.conversationId;
    let position = '';
    for (const text of ['one', 'two', 'three']) {
      const { sendMessage } = await graphqlRequest<{ sendMessage: { position: string } }>(
        server.url,
        alice,
        `mutation($input: SendMessageInput!) { sendMessage(input: $input) { position } }`,
        { input: { conversationId: c, clientMessageId: text, text } },
      );
      position = sendMessage.position;
    }
    const MESSAGES = `query($c: ID!) { messages(conversationId: $c, first: 50) { items { id contentStatus } } }`;
    const HISTORY = `query($c: ID!) { auditConversationHistory(conversationId: $c) { messages { id } gaps { type } } }`;
    // Read your writes: the read models hold all three.
    const before = await graphqlRequest<{ messages: { items: unknown[] } }>(
      server.url,
      alice,
      `query($c: ID!, $p: String) { messages(conversationId: $c, first: 50, minPosition: $p) { items { id } } }`,
      { c, p: position },
    );
    expect(before.messages.items).toHaveLength(3);

    // A signed checkpoint covers the conversation.
    const app = server.app;
    const client = app.get<SqlClient>(SQL_CLIENT);
    const clock = app.get<Clock>(CLOCK);
    const job = new CheckpointJob(
      app.get<EventStore>(EVENT_STORE),
      MerkleLogStore.create(client),
      await TreeHeadSigner.open({ dir: join(dataDir, 'test-signing'), clock }),
      clock,
    );
    for (let more = true; more;) {
      const outcome = await job.run();
      more = outcome.status === 'signed' && outcome.more;
    }

    // The tail cut as a superuser would: the last two messages deleted, the counter lowered.
    const streamId = `conversation:${TENANT}:${c}`;
    await client.transaction(async (tx) => {
      await tx.query('alter table ll_events disable trigger user');
      await tx.query('delete from ll_events where stream_id = $1 and revision >= 2', [streamId]);
      await tx.query('update ll_streams set revision = 1 where stream_id = $1', [streamId]);
      await tx.query('alter table ll_events enable trigger user');
    });

    // The signed head is picked up within the adapter's bounded lag: wait for the refusal.
    let member: unknown[][] = [];
    for (let i = 0; i < 600 && member.length === 0; i++) {
      member = await errorsOf(alice, MESSAGES, { c });
      if (member.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(member).toEqual([['INTEGRITY_FAILED', 'stream_truncated']]);
    const auditor = await token('audrey', ['auditor']);
    expect(await errorsOf(auditor, HISTORY, { c })).toEqual([
      ['INTEGRITY_FAILED', 'stream_truncated'],
    ]);
  });
});
