import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  describeWhenEnv,
  devToken,
  graphqlRequest,
  openTestDatabase,
  CLI_MAIN,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
} from '@ledgerline/testing';

// Two server processes (the compiled server) on one PostgreSQL database and the compiled CLI, as
// an operator runs them: after `keys shred`, neither node may serve the shredded text, over
// `messages` or `auditConversationHistory`, although each had the stream's data key cached (the
// cache keeps keys for LEDGERLINE_DEK_CACHE_MAX_AGE_MS, 5 minutes by default, which this test
// leaves as it is). PGlite is one process's database: there the in-process path is covered by
// libs/crypto's key-invalidation.int.spec.ts.

const TENANT = 'clinic-shred';
const CANARY = `CANARY-shred-${randomUUID()}`;
/** How soon after the CLI has exited both nodes must have stopped serving the text. */
const WITHIN_MS = 1_000;

/**
 * Runs the compiled CLI to completion without blocking this process (runCli's spawnSync would
 * leave the test's keep-alive sockets to the servers unread while it runs).
 */
function runCliAsync(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 },
      (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}

interface MessagesPage {
  messages: { items: { id: string; contentStatus: string; text: string | null }[] };
}
interface AuditHistory {
  auditConversationHistory: {
    messages: { id: string; contentStatus: string; text: string | null }[];
  };
}

describeWhenEnv(
  'TEST_DATABASE_URL',
  'keys shred and two running server processes on one PostgreSQL',
  () => {
    let db: TestDatabase;
    let dataDir: string;
    let env: Record<string, string>;
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      db = await openTestDatabase('postgres');
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-shred-cluster-'));
      env = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        DATABASE_URL: db.url!,
        // One key ring for both nodes and the CLI.
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
        LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
      };
      servers.push(await startServerProcess({ ...env, LEDGERLINE_NODE_ID: 'node-a' }));
      servers.push(await startServerProcess({ ...env, LEDGERLINE_NODE_ID: 'node-b' }));
    }, 120_000);

    afterAll(async () => {
      for (const server of servers) await server.stop();
      await db?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    /** Retries what the server answers as retryable, as a client would. */
    async function retrying<T>(request: () => Promise<T>): Promise<T> {
      for (let attempt = 0; ; attempt++) {
        try {
          return await request();
        } catch (error) {
          if (attempt >= 20 || !String(error).includes('"retryable":true')) throw error;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }

    const tokens = new Map<ServerProcess, { member: string; auditor: string }>();

    /** What a member and an auditor are served on `server` right now. */
    async function served(server: ServerProcess, conversationId: string, minPosition: string) {
      let t = tokens.get(server);
      if (!t) {
        t = {
          member: await devToken(server.url, { tenantId: TENANT, userId: 'alice' }),
          // Content takes audit.content and a stated reason (minimum necessary).
          auditor: await devToken(server.url, {
            tenantId: TENANT,
            userId: 'audrey',
            roles: ['investigator'],
          }),
        };
        tokens.set(server, t);
      }
      const [page, history] = await Promise.all([
        retrying(() =>
          graphqlRequest<MessagesPage>(
            server.url,
            t.member,
            `query($c: ID!, $p: String) { messages(conversationId: $c, first: 50, minPosition: $p) { items { id contentStatus text } } }`,
            { c: conversationId, p: minPosition },
          ),
        ),
        retrying(() =>
          graphqlRequest<AuditHistory>(
            server.url,
            t.auditor,
            `query($c: ID!) { auditConversationHistory(conversationId: $c, contentReason: "shred check") { messages { id contentStatus text } } }`,
            { c: conversationId },
          ),
        ),
      ]);
      return { messages: page.messages.items, audit: history.auditConversationHistory.messages };
    }

    const showsText = (s: Awaited<ReturnType<typeof served>>) =>
      [...s.messages, ...s.audit].some((m) => m.text !== null && m.text.includes(CANARY));

    it('stops serving a shredded stream on every node within a second of the CLI, and never serves it again', async () => {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      const alice = await devToken(a.url, { tenantId: TENANT, userId: 'alice' });
      const { createGroupConversation } = await graphqlRequest<{
        createGroupConversation: { conversationId: string };
      }>(
        a.url,
        alice,
        `mutation($input: CreateGroupConversationInput!) { createGroupConversation(input: $input) { conversationId } }`,
        { input: { title: 'Ward 3', members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }] } },
      );
      const conversationId = createGroupConversation.conversationId;
      const { sendMessage } = await graphqlRequest<{
        sendMessage: { messageId: string; position: string };
      }>(
        b.url,
        await devToken(b.url, { tenantId: TENANT, userId: 'alice' }),
        `mutation($input: SendMessageInput!) { sendMessage(input: $input) { messageId position } }`,
        { input: { conversationId, clientMessageId: 'm-1', text: `${CANARY} potassium 6.1` } },
      );

      // Both nodes read it: each now holds the stream's data key (and its state) in memory.
      for (const server of servers) {
        const before = await served(server, conversationId, sendMessage.position);
        expect(showsText(before)).toBe(true);
      }

      const streamId = `conversation:${TENANT}:${conversationId}`;
      const shred = await runCliAsync(
        env,
        'keys',
        'shred',
        '--tenant',
        TENANT,
        '--stream',
        streamId,
        '--reason',
        'retention period ended',
        '--confirm',
      );
      expect(shred).toMatchObject({ code: 0 });
      expect(shred.out).toMatch(/shredded 1 data key\(s\) of stream/);
      const cliExited = Date.now();

      // Poll both nodes at once until neither serves the text; then it must stay gone. What is
      // measured is when the first clean read was sent, after the CLI exited (the CLI exits after
      // the shred committed, recorded its event and closed).
      const goneAfter = await Promise.all(
        servers.map(async (server) => {
          for (;;) {
            const sentAt = Date.now();
            const now = await served(server, conversationId, sendMessage.position);
            if (!showsText(now)) {
              expect(now.audit.map((m) => m.contentStatus)).toEqual(['SHREDDED']);
              expect(now.messages.map((m) => m.contentStatus)).toEqual(['SHREDDED']);
              return sentAt - cliExited;
            }
            // Far shorter than the key cache's age (5 minutes): without invalidation this fails.
            expect(sentAt - cliExited).toBeLessThan(WITHIN_MS);
          }
        }),
      );
      for (const ms of goneAfter) expect(ms).toBeLessThan(WITHIN_MS);
      for (let round = 0; round < 5; round++) {
        for (const server of servers) {
          expect(showsText(await served(server, conversationId, sendMessage.position))).toBe(false);
        }
      }

      // The decided state went with the keys: neither node accepts a new message into the
      // shredded conversation (it would be sealed under a fresh key and readable again).
      for (const [i, server] of servers.entries()) {
        const outcome = await graphqlRequest(
          server.url,
          await devToken(server.url, { tenantId: TENANT, userId: 'alice' }),
          `mutation($input: SendMessageInput!) { sendMessage(input: $input) { messageId } }`,
          { input: { conversationId, clientMessageId: `after-${i}`, text: 'after the shred' } },
        ).then(
          () => 'accepted',
          (e: unknown) => String(e),
        );
        expect(outcome).not.toBe('accepted');
      }
      process.stdout.write(
        `shred reached the nodes' reads ${goneAfter.map((ms) => `${ms} ms`).join(', ')} after the CLI exited\n`,
      );
    }, 120_000);
  },
);
