import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphQLClient } from 'graphql-request';
import { auditStreamId, parseAccessRecorded, type AccessRecordedV1 } from '@ledgerline/audit';
import { DEPLOYMENT_AUDIT_TENANT } from '@ledgerline/identity';
import { loadConfig } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  clientHeaders,
  devToken,
  runCli,
  startServerProcess,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';
import { withCliContext } from './cli-context';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Every access path of the audit issue, driven as clients and operators drive them (the built
// server over GraphQL, then the built CLI, on one embedded data directory), and then the audit
// streams read back: each path wrote exactly one access record, with every field it can have.
const TENANT = 'clinic-paths';
const CANARY = `CANARY-${randomUUID()}`;
const DEVICE = 'ward-tablet-7';

/** The built CLI's stdout; throws unless it exits 0. */
function cli(env: Record<string, string>, ...args: string[]) {
  const r = runCli(env, ...args);
  if (r.code !== 0) throw new Error(`ledgerline ${args.join(' ')} failed:\n${r.err}`);
  return r.out;
}

const graphql = (url: string, token: string, agent: string) =>
  new GraphQLClient(`${url}/graphql`, {
    headers: clientHeaders(token, { userAgent: agent, deviceId: DEVICE }),
  });

async function refused(request: Promise<unknown>): Promise<void> {
  const outcome = await request.then(
    () => 'answered',
    () => 'refused',
  );
  expect(outcome).toBe('refused');
}

describe('every access path writes exactly one complete access record', () => {
  let root: string;
  let env: Record<string, string>;
  let conversationId: string;
  let shreddedId: string;
  let rootId: string;
  let replyId: string;
  let apiKeyId: string;
  let records: AccessRecordedV1[];
  let deploymentRecords: AccessRecordedV1[];

  // Bounded by two start-ups: a server's start and its requests, then seven CLI runs, each of
  // which starts Node, Nest and PGlite.
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'll-access-paths-'));
    env = {
      LEDGERLINE_DATA_DIR: join(root, 'data'),
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
      LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
      LEDGERLINE_NODE_ID: 'paths-node-1',
      LOG_LEVEL: 'warn',
    };
    const server = await startServerProcess(env);
    try {
      const { url } = server;
      const as = async (user: string, roles = ['user']) =>
        graphql(
          url,
          await devToken(url, { tenantId: TENANT, userId: user, roles }),
          `paths-e2e/${user}`,
        );
      const [alice, bob, mallory, audrey] = await Promise.all([
        as('alice'),
        as('bob'),
        as('mallory'),
        as('audrey', ['auditor']),
      ]);
      const from = new Date(Date.now() - 60_000).toISOString();

      // Writes: none of them is a read of PHI, so none is recorded (sign-ins aside).
      const create = `mutation ($input: CreateGroupConversationInput!) {
        createGroupConversation(input: $input) { conversationId } }`;
      const send = `mutation ($input: SendMessageInput!) {
        sendMessage(input: $input) { messageId position } }`;
      type Created = { createGroupConversation: { conversationId: string } };
      type Sent = { sendMessage: { messageId: string; position: string } };
      conversationId = (
        await alice.request<Created>(create, {
          input: { title: `Ward 3 ${CANARY}`, members: [{ id: 'bob' }] },
        })
      ).createGroupConversation.conversationId;
      shreddedId = (
        await alice.request<Created>(create, {
          input: { title: 'to shred', members: [{ id: 'bob' }] },
        })
      ).createGroupConversation.conversationId;
      rootId = (
        await alice.request<Sent>(send, {
          input: { conversationId, clientMessageId: 'c1', text: `${CANARY} K+ 6.1` },
        })
      ).sendMessage.messageId;
      await alice.request(
        `mutation ($input: EditMessageInput!) { editMessage(input: $input) { position } }`,
        { input: { conversationId, messageId: rootId, text: `${CANARY} K+ 6.1 (haemolysed)` } },
      );
      const reply = await bob.request<Sent>(send, {
        input: { conversationId, clientMessageId: 'c2', text: 'redraw', threadRootId: rootId },
      });
      replyId = reply.sendMessage.messageId;
      const minPosition = reply.sendMessage.position;

      // The four reads of PHI, by bob.
      await bob.request(`query ($m: String) { conversations(minPosition: $m) { items { id } } }`, {
        m: minPosition,
      });
      await bob.request(
        `query ($c: ID!, $m: String) { messages(conversationId: $c, minPosition: $m) { items { id } } }`,
        { c: conversationId, m: minPosition },
      );
      await bob.request(
        `query ($c: ID!, $r: ID!) { thread(conversationId: $c, rootMessageId: $r) { root { id } } }`,
        { c: conversationId, r: rootId },
      );
      await bob.request(
        `query ($c: ID!, $m: ID!) { editHistory(conversationId: $c, messageId: $m) { messageId } }`,
        { c: conversationId, m: rootId },
      );

      // A refused credential, a missing permission, a non-member.
      const forged = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
          'user-agent': 'paths-e2e/forger',
        },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      expect(forged.status).toBe(401);
      const to = new Date(Date.now() + 3_600_000).toISOString();
      const search = `query ($f: AuditLogFilter!) { auditLog(filter: $f) { items { eventId } } }`;
      await refused(bob.request(search, { f: { from, to } }));
      await refused(
        mallory.request(`query ($c: ID!) { messages(conversationId: $c) { items { id } } }`, {
          c: conversationId,
        }),
      );

      // The auditor's three queries.
      await audrey.request(search, { f: { from, to, conversationId } });
      await audrey.request(
        `query ($s: ID!, $from: DateTime!, $to: DateTime!) {
          accountingOfDisclosures(subjectUserId: $s, from: $from, to: $to) { items { eventId } } }`,
        { s: 'alice', from, to },
      );
      await audrey.request(
        `query ($c: ID!) { auditConversationHistory(conversationId: $c) { conversationId } }`,
        { c: conversationId },
      );
    } finally {
      await server.stop();
    }

    // The operator's commands, on the same data directory once the server has let go of it.
    const created = cli(env, 'apikeys', 'create', '--tenant', TENANT, '--name', 'lab-backend');
    apiKeyId = /api key (\S+) for tenant/.exec(created)![1]!;
    cli(env, 'apikeys', 'revoke', apiKeyId);
    cli(env, 'keys', 'rotate', '--tenant', TENANT);
    const stream = `conversation:${TENANT}:${shreddedId}`;
    cli(env, 'keys', 'shred', '--tenant', TENANT, '--stream', stream, '--reason', 'r', '--confirm');
    cli(env, 'audit', 'checkpoint');
    cli(env, 'audit', 'export', '--tenant', TENANT, '--out', join(root, 'bundle'));
    const replayed = cli(
      env,
      'replay',
      '--tenant',
      TENANT,
      '--as-of',
      new Date().toISOString(),
      '--conversation',
      conversationId,
    );
    expect(replayed).toContain(CANARY);

    const read = (ledger: Ledger, tenant: string) =>
      ledger.readStream(auditStreamId(tenant)).then((events) =>
        events.map((e) => {
          if (e.body.status !== 'available') throw new Error('an access record did not open');
          return parseAccessRecorded(e.body.payload)!;
        }),
      );
    [records, deploymentRecords] = await withCliContext(loadConfig(env), async (app) => {
      const ledger = app.get<Ledger>(LEDGER);
      return [await read(ledger, TENANT), await read(ledger, DEPLOYMENT_AUDIT_TENANT)];
    });
  }, 2 * STARTUP_TIMEOUT_MS);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const only = (action: string, actorId?: string) => {
    const found = records.filter(
      (r) => r.action === action && (actorId === undefined || r.actor.id === actorId),
    );
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const fromTheWard = (agent: string) => ({
    node: 'paths-node-1',
    transport: 'http',
    clientAddress: expect.stringMatching(/127\.0\.0\.1/) as string,
    userAgent: agent,
    deviceId: DEVICE,
  });

  it('never holds PHI', () => {
    expect(JSON.stringify([records, deploymentRecords])).not.toContain(CANARY);
  });

  it('each sign-in once per credential, with where it came from', () => {
    for (const user of ['alice', 'bob', 'mallory', 'audrey']) {
      const r = only('signin.succeeded', user);
      expect(r).toMatchObject({ outcome: 'allowed', origin: fromTheWard(`paths-e2e/${user}`) });
      expect(Date.parse(r.at)).not.toBeNaN();
    }
    expect(deploymentRecords.filter((r) => r.action === 'signin.failed')).toEqual([
      expect.objectContaining({
        actor: { id: 'anonymous', kind: 'anonymous', roles: [] },
        outcome: 'failed',
        reason: expect.any(String) as string,
        origin: expect.objectContaining({
          transport: 'http',
          userAgent: 'paths-e2e/forger',
        }) as unknown,
      }),
    ]);
  });

  it('each read of PHI: who, which conversation and messages, whose data, from where', () => {
    const bob = { id: 'bob', kind: 'user', roles: ['user'] };
    const expected = [
      ['phi.conversation_list.read', undefined, [conversationId, shreddedId]],
      ['phi.history.read', conversationId, [rootId, replyId]],
      ['phi.thread.read', conversationId, [rootId, replyId]],
      ['phi.edit_history.read', conversationId, [rootId]],
    ] as const;
    for (const [action, conversation, targets] of expected) {
      const r = only(action);
      expect(r).toMatchObject({
        actor: bob,
        outcome: 'allowed',
        targetIds: [...targets],
        subjectUserIds: ['alice'],
        origin: fromTheWard('paths-e2e/bob'),
        ...(conversation ? { conversationId: conversation } : {}),
      });
    }
  });

  it('each refusal, with the reason and what was asked for', () => {
    expect(only('access.denied', 'bob')).toMatchObject({
      outcome: 'denied',
      reason: 'missing_permission',
      permission: 'audit.read',
      origin: fromTheWard('paths-e2e/bob'),
    });
    expect(only('access.denied', 'mallory')).toMatchObject({
      outcome: 'denied',
      reason: 'not_a_member',
      conversationId,
      origin: fromTheWard('paths-e2e/mallory'),
    });
  });

  it('each auditor query, itself an access event', () => {
    const audrey = { id: 'audrey', kind: 'user', roles: ['auditor'] };
    expect(only('audit.searched')).toMatchObject({
      actor: audrey,
      outcome: 'allowed',
      origin: fromTheWard('paths-e2e/audrey'),
    });
    expect(only('audit.disclosures.read')).toMatchObject({
      actor: audrey,
      subjectUserIds: ['alice'],
    });
    expect(only('audit.conversation_history.read')).toMatchObject({
      actor: audrey,
      conversationId,
      subjectUserIds: expect.arrayContaining(['alice', 'bob']) as string[],
    });
  });

  it('each operator command, from the CLI', () => {
    const operator = expect.objectContaining({ kind: 'operator' }) as unknown;
    const cliOrigin = { node: expect.any(String) as string, transport: 'cli' };
    const expected: [string, unknown][] = [
      ['apikey.created', [apiKeyId]],
      ['apikey.revoked', [apiKeyId]],
      ['keys.rotated', expect.any(Array)],
      ['keys.shredded', expect.arrayContaining([`conversation:${TENANT}:${shreddedId}`])],
      ['audit.exported', expect.any(Array)],
      ['audit.replayed', [conversationId]],
    ];
    for (const [action, targetIds] of expected) {
      expect(only(action)).toMatchObject({
        actor: operator,
        outcome: 'allowed',
        targetIds,
        origin: cliOrigin,
      });
    }
    expect(only('audit.exported').targetIds.length).toBeGreaterThan(0);
    expect(only('audit.replayed').subjectUserIds).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it('nothing else', () => {
    const actions = new Set([
      'signin.succeeded',
      'phi.conversation_list.read',
      'phi.history.read',
      'phi.thread.read',
      'phi.edit_history.read',
      'access.denied',
      'audit.searched',
      'audit.disclosures.read',
      'audit.conversation_history.read',
      'apikey.created',
      'apikey.revoked',
      'keys.rotated',
      'keys.shredded',
      'audit.exported',
      'audit.replayed',
    ]);
    expect(records.filter((r) => !actions.has(r.action))).toEqual([]);
    expect(records).toHaveLength(4 + 4 + 2 + 3 + 6);
  });
});
