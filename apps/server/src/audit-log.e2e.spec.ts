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

// The compiled server (`npm test` builds first), searched by an auditor over GraphQL the way an
// audit tool would: the audit log, the accounting of disclosures, and the auditor's own trail.
// Stands for PHI: sent as message text and as bad input; never in an error or the server's log.
const CANARY = `canary-${randomUUID()}`;
const TENANT = 'tenant-audit';

async function client(url: string, userId: string, roles: string[]): Promise<GraphQLClient> {
  const token = await devToken(url, { tenantId: TENANT, userId, roles });
  return new GraphQLClient(`${url}/graphql`, {
    headers: clientHeaders(token, { userAgent: `audit-e2e/${userId}` }),
  });
}

async function refusal(
  c: GraphQLClient,
  document: string,
  variables: Record<string, unknown>,
): Promise<{ message: string; extensions?: Record<string, unknown> }[]> {
  const outcome: unknown = await c.request(document, variables).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof ClientError)) throw new Error('expected an error');
  return outcome.response.errors ?? [];
}

const CREATE_GROUP = /* GraphQL */ `
  mutation ($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
      position
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
const HISTORY = /* GraphQL */ `
  query ($conversationId: ID!, $minPosition: String) {
    messages(conversationId: $conversationId, minPosition: $minPosition) {
      items {
        id
        text
      }
    }
  }
`;
const ENTRY = /* GraphQL */ `
  fragment Entry on AuditLogEntry {
    eventId
    position
    cursor
    at
    recordedAt
    actor {
      id
      kind
      roles
      credentialId
    }
    action
    outcome
    reason
    permission
    conversationId
    resourceType
    targetIds
    subjectUserIds
    origin {
      node
      transport
      clientAddress
      userAgent
      deviceId
    }
  }
`;
const AUDIT_LOG = /* GraphQL */ `
  ${ENTRY}
  query ($filter: AuditLogFilter!, $first: Int, $after: String) {
    auditLog(filter: $filter, first: $first, after: $after) {
      items {
        ...Entry
      }
      hasMore
      endCursor
    }
  }
`;
const DISCLOSURES = /* GraphQL */ `
  ${ENTRY}
  query ($subjectUserId: ID!, $from: DateTime!, $to: DateTime!, $first: Int, $after: String) {
    accountingOfDisclosures(
      subjectUserId: $subjectUserId
      from: $from
      to: $to
      first: $first
      after: $after
    ) {
      items {
        ...Entry
      }
      hasMore
      endCursor
    }
  }
`;

interface Entry {
  eventId: string;
  position: string;
  cursor: string;
  at: string;
  recordedAt: string;
  actor: { id: string; kind: string; roles: string[]; credentialId: string | null };
  action: string;
  outcome: string;
  reason: string | null;
  permission: string | null;
  conversationId: string | null;
  resourceType: string | null;
  targetIds: string[];
  subjectUserIds: string[];
  origin: {
    node: string;
    transport: string;
    clientAddress: string | null;
    userAgent: string | null;
    deviceId: string | null;
  } | null;
}
interface Page {
  items: Entry[];
  hasMore: boolean;
  endCursor: string | null;
}

for (const kind of availableDatabases()) {
  describe(`the audit log over GraphQL (the built server on ${kind})`, () => {
    let dataDir: string;
    let server: ServerProcess;
    let db: TestDatabase | undefined;
    let alice: GraphQLClient;
    let bob: GraphQLClient;
    let nurse: GraphQLClient;
    let auditor: GraphQLClient;
    let conversationId: string;
    let messageId: string;
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();

    const auditLog = async (filter: Record<string, unknown>, page: Record<string, unknown> = {}) =>
      (
        await auditor.request<{ auditLog: Page }>(AUDIT_LOG, {
          filter: { from, to, ...filter },
          ...page,
        })
      ).auditLog;
    const disclosures = async (subjectUserId: string, page: Record<string, unknown> = {}) =>
      (
        await auditor.request<{ accountingOfDisclosures: Page }>(DISCLOSURES, {
          subjectUserId,
          from,
          to,
          ...page,
        })
      ).accountingOfDisclosures;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-audit-log-e2e-'));
      const env: Record<string, string> = {
        LEDGERLINE_DATA_DIR: dataDir,
        NODE_ENV: 'development',
        LOG_LEVEL: 'debug',
        LEDGERLINE_NODE_ID: 'node-e2e',
      };
      if (kind === 'postgres') {
        db = await openTestDatabase('postgres');
        env['DATABASE_URL'] = db.url!;
      }
      server = await startServerProcess(env);
      const url = server.url;
      alice = await client(url, 'alice', ['user']);
      bob = await client(url, 'bob', ['user']);
      nurse = await client(url, 'nurse', ['user']);
      auditor = await client(url, 'audrey', ['auditor']);

      const created = await alice.request<{
        createGroupConversation: { conversationId: string };
      }>(CREATE_GROUP, {
        input: { title: 'Ward 7', members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }] },
      });
      conversationId = created.createGroupConversation.conversationId;
      const sent = await alice.request<{ sendMessage: { messageId: string; position: string } }>(
        SEND,
        { input: { conversationId, clientMessageId: 'm-1', text: `${CANARY} hello` } },
      );
      messageId = sent.sendMessage.messageId;
      // Bob reads Alice's message (a disclosure of her PHI); Alice reads her own (not one).
      for (const reader of [bob, alice]) {
        const page = await reader.request<{ messages: { items: { id: string }[] } }>(HISTORY, {
          conversationId,
          minPosition: sent.sendMessage.position,
        });
        expect(page.messages.items.map((m) => m.id)).toEqual([messageId]);
      }
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      await server?.stop();
      await db?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }, 30_000);

    it('lists who read a user’s PHI, when, why and from where: others’ reads only', async () => {
      const page = await disclosures('alice');
      expect(page.items).toHaveLength(1);
      const [read] = page.items;
      expect(read).toMatchObject({
        actor: { id: 'bob', kind: 'USER', roles: ['user'], credentialId: null },
        action: 'phi.history.read',
        outcome: 'ALLOWED',
        conversationId,
        targetIds: [messageId],
        origin: { node: 'node-e2e', transport: 'http', userAgent: 'audit-e2e/bob' },
      });
      expect(read!.subjectUserIds).toEqual(expect.arrayContaining(['alice']));
      expect(read!.origin!.clientAddress).toMatch(/127\.0\.0\.1|::1/);
      expect(Date.parse(read!.at)).toBeGreaterThanOrEqual(Date.parse(from));
      expect(page.hasMore).toBe(false);
    });

    it('searches the log by actor, subject, action and conversation, and pages it', async () => {
      // Bob signed in (each request) and read the history once.
      const byActor = await auditLog({ actorId: 'bob' });
      expect(byActor.items.every((e) => e.actor.id === 'bob')).toBe(true);
      expect(byActor.items.filter((e) => e.action === 'phi.history.read')).toHaveLength(1);
      const bySubject = await auditLog({ subjectUserId: 'alice', action: 'phi.history.read' });
      expect(bySubject.items.map((e) => e.actor.id)).toEqual(['bob']);
      const byConversation = await auditLog({ conversationId });
      expect(byConversation.items.map((e) => `${e.actor.id} ${e.action}`)).toEqual([
        'bob phi.history.read',
        'alice phi.history.read',
      ]);

      // A new read lists the searches before it (each names the conversation it filtered on).
      const reads = { conversationId, action: 'phi.history.read' };
      const first = await auditLog(reads, { first: 1 });
      expect(first.hasMore).toBe(true);
      const second = await auditLog(reads, { first: 1, after: first.endCursor });
      expect(second.hasMore).toBe(false);
      expect([...first.items, ...second.items].map((e) => e.eventId)).toEqual(
        byConversation.items.map((e) => e.eventId),
      );
    });

    it('records the auditor’s own reads, and a refused caller’s attempt', async () => {
      const errors = await refusal(nurse, AUDIT_LOG, { filter: { from, to } });
      expect(errors.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
      const disclosed = await disclosures('bob');

      const trail = await auditLog({ actorId: 'audrey', action: 'audit.disclosures.read' });
      expect(trail.items.at(-1)).toMatchObject({
        actor: { id: 'audrey', kind: 'USER', roles: ['auditor'] },
        outcome: 'ALLOWED',
        resourceType: 'audit_log',
        subjectUserIds: ['bob'],
        targetIds: disclosed.items.map((e) => e.eventId),
        origin: { node: 'node-e2e', transport: 'http', userAgent: 'audit-e2e/audrey' },
      });
      const denied = await auditLog({ actorId: 'nurse', action: 'access.denied' });
      expect(denied.items).toHaveLength(1);
      expect(denied.items[0]).toMatchObject({
        outcome: 'DENIED',
        reason: 'missing_permission',
        permission: 'audit.read',
        resourceType: 'audit_log',
      });
      // A refused caller's search was not answered, so it was not recorded as one.
      expect((await auditLog({ actorId: 'nurse', action: 'audit.searched' })).items).toEqual([]);
    });

    it('refuses bad input with BAD_USER_INPUT, quoting none of it', async () => {
      const cases: [string, Record<string, unknown>, string][] = [
        [AUDIT_LOG, { filter: { from, to }, first: 101 }, 'first'],
        [AUDIT_LOG, { filter: { from, to }, after: `${CANARY}==` }, 'after'],
        [AUDIT_LOG, { filter: { from, to }, after: 'YWJj' }, 'after'],
        [AUDIT_LOG, { filter: { from, to, action: `phi.${CANARY}` } }, 'filter.action'],
        [
          AUDIT_LOG,
          { filter: { from, to, subjectUserId: `${CANARY} Jane` } },
          'filter.subjectUserId',
        ],
        [AUDIT_LOG, { filter: { from: to, to: from } }, 'to'],
        [AUDIT_LOG, { filter: { from: CANARY, to } }, 'filter.from'],
        [DISCLOSURES, { subjectUserId: `${CANARY} Jane`, from, to }, 'subjectUserId'],
      ];
      for (const [document, variables, field] of cases) {
        const errors = await refusal(auditor, document, variables);
        expect(errors).toHaveLength(1);
        expect(errors[0]!.extensions?.['code']).toBe('BAD_USER_INPUT');
        expect(JSON.stringify(errors[0]!.extensions)).toContain(field);
        expect(JSON.stringify(errors)).not.toContain(CANARY);
      }
      expect(server.output()).not.toContain(CANARY);
    });
  });
}
