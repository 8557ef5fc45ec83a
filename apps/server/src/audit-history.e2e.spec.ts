import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, GraphQLClient } from 'graphql-request';
import {
  availableDatabases,
  clientHeaders,
  devToken,
  openTestDatabase,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// The compiled server (`npm test` builds first), asked for a conversation's full history by an
// auditor over GraphQL, the way an audit tool would.
const CANARY = `canary-${randomUUID()}`;

async function client(url: string, userId: string, roles: string[]): Promise<GraphQLClient> {
  const token = await devToken(url, { tenantId: 'tenant-h', userId, roles });
  return new GraphQLClient(`${url}/graphql`, { headers: clientHeaders(token) });
}

async function errorCodes(
  c: GraphQLClient,
  document: string,
  variables: Record<string, unknown>,
): Promise<unknown[]> {
  const outcome: unknown = await c.request(document, variables).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof ClientError)) throw new Error('expected an error');
  return (outcome.response.errors ?? []).map((e) => e.extensions?.['code']);
}

const CREATE_GROUP = /* GraphQL */ `
  mutation ($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;
const SEND = /* GraphQL */ `
  mutation ($input: SendMessageInput!) {
    sendMessage(input: $input) {
      messageId
      position
    }
  }
`;
const EDIT = /* GraphQL */ `
  mutation ($input: EditMessageInput!) {
    editMessage(input: $input) {
      position
    }
  }
`;
const REDACT = /* GraphQL */ `
  mutation ($input: RedactMessageInput!) {
    redactMessage(input: $input) {
      position
    }
  }
`;
const HISTORY = /* GraphQL */ `
  query ($conversationId: ID!, $asOf: String, $contentReason: String) {
    auditConversationHistory(
      conversationId: $conversationId
      asOf: $asOf
      contentReason: $contentReason
    ) {
      conversationId
      asOf
      existed
      kind
      titleStatus
      title
      members {
        id
        role
        isMember
      }
      messages {
        id
        authorId
        contentStatus
        text
        versions {
          editNumber
          editorId
          text
        }
        redaction {
          redactedBy
          reason
        }
        editedLater
      }
      gaps {
        type
      }
    }
  }
`;

interface History {
  auditConversationHistory: {
    conversationId: string;
    asOf: string;
    existed: boolean;
    kind: string;
    titleStatus: string;
    title: string;
    members: { id: string; role: string; isMember: boolean }[];
    messages: {
      id: string;
      authorId: string;
      contentStatus: string;
      text: string | null;
      versions: { editNumber: number; editorId: string; text: string | null }[];
      redaction: { redactedBy: string | null; reason: string | null } | null;
      editedLater: number;
    }[];
    gaps: { type: string }[];
  };
}

for (const kind of availableDatabases()) {
  describe(`auditConversationHistory over GraphQL (the built server on ${kind})`, () => {
    let dataDir: string;
    let server: ServerProcess;
    let db: TestDatabase | undefined;
    let alice: GraphQLClient;
    let auditor: GraphQLClient;
    let investigator: GraphQLClient;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-audit-history-e2e-'));
      const env: Record<string, string> = {
        LEDGERLINE_DATA_DIR: dataDir,
        NODE_ENV: 'development',
        LOG_LEVEL: 'debug',
      };
      if (kind === 'postgres') {
        db = await openTestDatabase('postgres');
        env['DATABASE_URL'] = db.url!;
      }
      server = await startServerProcess(env);
      alice = await client(server.url, 'alice', ['user']);
      auditor = await client(server.url, 'audrey', ['auditor']);
      investigator = await client(server.url, 'ivan', ['investigator']);
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      await server?.stop();
      await db?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }, 30_000);

    it('shows an investigator who states a reason edited and redacted content as it was, as of now or an earlier position; an auditor the metadata only', async () => {
      const { createGroupConversation: group } = await alice.request<{
        createGroupConversation: { conversationId: string };
      }>(CREATE_GROUP, {
        input: { title: 'Ward 9', members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }] },
      });
      const conversationId = group.conversationId;
      const { sendMessage: sent } = await alice.request<{
        sendMessage: { messageId: string; position: string };
      }>(SEND, { input: { conversationId, clientMessageId: 'c-1', text: `${CANARY} first` } });
      await alice.request(EDIT, {
        input: { conversationId, messageId: sent.messageId, text: `${CANARY} second` },
      });
      await alice.request(REDACT, {
        input: { conversationId, messageId: sent.messageId, reason: 'wrong patient' },
      });

      // Minimum necessary: the auditor's role alone shows who and when, never what.
      const metadata = await auditor.request<History>(HISTORY, { conversationId });
      expect(metadata.auditConversationHistory).toMatchObject({
        titleStatus: 'WITHHELD',
        title: null,
        messages: [
          {
            id: sent.messageId,
            authorId: 'alice',
            contentStatus: 'WITHHELD',
            text: null,
            versions: [
              { editNumber: 0, editorId: 'alice', text: null },
              { editNumber: 1, editorId: 'alice', text: null },
            ],
            redaction: { redactedBy: 'alice', reason: null },
          },
        ],
      });
      expect(JSON.stringify(metadata)).not.toContain(CANARY);
      expect(
        await errorCodes(auditor, HISTORY, { conversationId, contentReason: 'case 114' }),
      ).toEqual(['FORBIDDEN']);

      const reason = 'case 2026-114';
      const now = await investigator.request<History>(HISTORY, {
        conversationId,
        contentReason: reason,
      });
      expect(now.auditConversationHistory).toMatchObject({
        conversationId,
        asOf: 'now',
        existed: true,
        kind: 'GROUP',
        titleStatus: 'AVAILABLE',
        title: 'Ward 9',
        members: [
          { id: 'alice', role: 'OWNER', isMember: true },
          { id: 'bob', role: 'MEMBER', isMember: true },
        ],
        messages: [
          {
            id: sent.messageId,
            authorId: 'alice',
            contentStatus: 'AVAILABLE',
            text: `${CANARY} second`,
            versions: [
              { editNumber: 0, editorId: 'alice', text: `${CANARY} first` },
              { editNumber: 1, editorId: 'alice', text: `${CANARY} second` },
            ],
            redaction: { redactedBy: 'alice', reason: 'wrong patient' },
            editedLater: 0,
          },
        ],
        gaps: [],
      });

      const before = await investigator.request<History>(HISTORY, {
        conversationId,
        asOf: sent.position,
        contentReason: reason,
      });
      expect(before.auditConversationHistory.asOf).toBe(`position ${sent.position}`);
      expect(before.auditConversationHistory.messages).toMatchObject([
        {
          text: `${CANARY} first`,
          versions: [{ editNumber: 0 }],
          redaction: null,
          editedLater: 1,
        },
      ]);
    });

    it('refuses anyone without audit.read, a bad asOf and an unknown conversation', async () => {
      const conversationId = randomUUID();
      expect(await errorCodes(alice, HISTORY, { conversationId })).toEqual(['FORBIDDEN']);
      expect(await errorCodes(auditor, HISTORY, { conversationId, asOf: 'yesterday' })).toEqual([
        'BAD_USER_INPUT',
      ]);
      expect(await errorCodes(auditor, HISTORY, { conversationId })).toEqual(['NOT_FOUND']);
      expect(server.output()).not.toContain(CANARY);
    });
  });
}
