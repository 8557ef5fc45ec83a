import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditStreamId, parseAccessRecorded, type AccessRecordedV1 } from '@ledgerline/audit';
import {
  DEFAULT_CONVERSATION_LIMITS,
  conversationStreamId,
  decideConversation,
  encodeConversationEvent,
  foldConversation,
  openConversationEvent,
  type ConversationCommand,
  type ConversationEvent,
} from '@ledgerline/conversations';
import { encodePosition, loadConfig, uuidV7Generator } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { runCli, E2E_TEST_TIMEOUT_MS, STARTUP_TIMEOUT_MS } from '@ledgerline/testing';
import { withCliContext } from './cli-context';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// The built CLI (`npm test` builds first), as an operator or auditor runs it, on the embedded
// database. The conversation is written beforehand through the decider and the ledger, as the
// server would write it.
const cli = runCli;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ledgerline replay (the built CLI on the embedded defaults)', () => {
  const tenant = 'clinic-r';
  const ward = randomUUID();
  const shreddedGroup = randomUUID();
  let root: string;
  let env: Record<string, string>;
  let m1: string;
  let m2: string;
  let beforeEditPosition: string;
  let beforeEditTime: string;

  const withLedger = <T>(fn: (ledger: Ledger) => Promise<T>) =>
    withCliContext(loadConfig(env), (app) => fn(app.get<Ledger>(LEDGER)));

  /** Decides a command on the stream's current state and appends it, as the server would. */
  async function execute(
    ledger: Ledger,
    actor: { id: string; kind: 'user' },
    command: { type: ConversationCommand['type']; data: Record<string, unknown> },
  ): Promise<{ events: ConversationEvent[]; position: string }> {
    const conversationId = command.data['conversationId'] as string;
    const streamId = conversationStreamId(tenant, conversationId);
    const opened = await ledger.readStream(streamId);
    const state = foldConversation(
      opened.map((e) => openConversationEvent(e)).filter((e) => e !== undefined),
    );
    const events = decideConversation(
      {
        type: command.type,
        data: { ...command.data, tenantId: tenant, actor },
      } as ConversationCommand,
      state,
      { now: new Date(), ids: uuidV7Generator, limits: DEFAULT_CONVERSATION_LIMITS },
    );
    const result = await ledger.append(
      tenant,
      streamId,
      events.map((e) => encodeConversationEvent(e, uuidV7Generator.next())),
      opened.length === 0 ? 'no_stream' : BigInt(opened.length - 1),
    );
    return { events: [...events], position: encodePosition(result.position) };
  }

  const messageIdOf = (r: { events: ConversationEvent[] }) => {
    const e = r.events[0]!;
    if (e.type !== 'MessageSent') throw new Error('not a send');
    return e.data.messageId;
  };

  async function auditRecords(): Promise<AccessRecordedV1[]> {
    return withLedger(async (ledger) =>
      (await ledger.readStream(auditStreamId(tenant)))
        .map((e) =>
          e.body.status === 'available' ? parseAccessRecorded(e.body.payload) : undefined,
        )
        .filter((r): r is AccessRecordedV1 => r !== undefined)
        .filter((r) => r.action === 'audit.replayed'),
    );
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ledgerline-replay-cli-'));
    env = {
      LEDGERLINE_DATA_DIR: join(root, 'data'),
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
    };
    // A fresh deployment: the schema first, as an operator (or a server's start) does.
    expect(cli(env, 'migrate').code).toBe(0);
    const alice = { id: 'alice', kind: 'user' } as const;
    const bob = { id: 'bob', kind: 'user' } as const;
    await withLedger(async (ledger) => {
      await execute(ledger, alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId: ward,
          title: 'Ward 7 handover',
          members: [{ id: 'bob', kind: 'user', role: 'member' }],
        },
      });
      const sent = await execute(ledger, bob, {
        type: 'SendMessage',
        data: { conversationId: ward, clientMessageId: 'c-1', text: 'BP 120/80, recheck at noon' },
      });
      m1 = messageIdOf(sent);
      beforeEditPosition = sent.position;
      await sleep(5);
      beforeEditTime = new Date().toISOString();
      await sleep(5);
      await execute(ledger, bob, {
        type: 'EditMessage',
        data: { conversationId: ward, messageId: m1, text: 'BP 130/85, recheck at noon' },
      });
      m2 = messageIdOf(
        await execute(ledger, bob, {
          type: 'SendMessage',
          data: { conversationId: ward, clientMessageId: 'c-2', text: 'wrong chart, sorry' },
        }),
      );
      await execute(ledger, alice, {
        type: 'RedactMessage',
        data: { conversationId: ward, messageId: m2, reason: 'wrong patient' },
      });

      await execute(ledger, alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId: shreddedGroup,
          title: 'Discharge planning',
          members: [{ id: 'bob', kind: 'user', role: 'member' }],
        },
      });
      await execute(ledger, alice, {
        type: 'SendMessage',
        data: {
          conversationId: shreddedGroup,
          clientMessageId: 'c-3',
          text: 'CANARY-shredded-text',
        },
      });
    });
    const shred = cli(
      env,
      'keys',
      'shred',
      '--tenant',
      tenant,
      '--stream',
      conversationStreamId(tenant, shreddedGroup),
      '--reason',
      'retention ended',
      '--confirm',
    );
    expect(shred.code).toBe(0);
  }, STARTUP_TIMEOUT_MS);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('prints what the conversation held before the edit, and records the replay', async () => {
    for (const asOf of [beforeEditPosition, beforeEditTime]) {
      const r = cli(env, 'replay', '--tenant', tenant, '--as-of', asOf, '--conversation', ward);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`== Conversation ${ward} (group) in tenant ${tenant}, as of`);
      expect(r.out).toContain('Title: "Ward 7 handover"');
      expect(r.out).toMatch(
        /Members then \(2\):\n {2}alice \(user, owner\)[^\n]*\n {2}bob \(user, member\)/,
      );
      expect(r.out).toContain('Messages (1):');
      expect(r.out).toMatch(
        new RegExp(`bob #1 {2}${m1} {2}"BP 120/80, recheck at noon" {2}\\[edited later\\]`),
      );
      expect(r.out).not.toContain('130/85');
    }
    const records = await auditRecords();
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      action: 'audit.replayed',
      outcome: 'allowed',
      conversationId: ward,
      targetIds: [ward],
      subjectUserIds: ['alice', 'bob'],
      actor: { kind: 'operator', roles: [] },
      origin: { transport: 'cli' },
    });
    expect(records[0]!.actor.id).toMatch(/^operator:/);
    expect(records[0]!.resourceType).toBeUndefined();
    expect(typeof records[0]!.origin.node).toBe('string');
  });

  it('now: the edit with its versions, and the redacted message with its text, who and why', () => {
    const r = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      new Date().toISOString(),
      '--conversation',
      ward,
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('Messages (2):');
    expect(r.out).toMatch(new RegExp(`${m1} {2}"BP 130/85, recheck at noon" {2}\\[edited 1x\\]`));
    expect(r.out).toMatch(/ {6}v0 \S+ by bob: "BP 120\/80, recheck at noon"/);
    expect(r.out).toMatch(/ {6}v1 \S+ by bob: "BP 130\/85, recheck at noon"/);
    expect(r.out).toMatch(
      new RegExp(
        `${m2} {2}"wrong chart, sorry" {2}\\[redacted at \\S+ by alice, reason "wrong patient"\\]`,
      ),
    );
  });

  it("a user's view hides the redacted text; shredded content prints as unavailable", () => {
    const r = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      new Date().toISOString(),
      '--user',
      'bob',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /What user bob could see in tenant clinic-r as of \S+: 1 conversation\(s\)/,
    );
    expect(r.out).toContain(`${m2}  [redacted]  [redacted at `);
    expect(r.out).not.toContain('wrong chart');
    expect(r.out).not.toContain('wrong patient');
    // The shredded group's members were sealed with it: bob's membership cannot be told.
    expect(r.out).toContain(
      `Undetermined (their membership events were shredded): ${shreddedGroup}`,
    );

    const shredded = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      new Date().toISOString(),
      '--conversation',
      shreddedGroup,
    );
    expect(shredded.code).toBe(0);
    expect(shredded.out).toContain('Title: [unavailable: key shredded]');
    expect(shredded.out).toMatch(
      /alice {2}\(unidentified, event \S+\) {2}\[unavailable: key shredded\]/,
    );
    expect(shredded.out).toContain('Incomplete: 1 event(s) could not be used:');
    expect(shredded.out).not.toContain('CANARY');
  });

  it('--json prints the replay for machines', () => {
    const r = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      beforeEditPosition,
      '--conversation',
      ward,
      '--json',
    );
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as {
      view: string;
      conversationId: string;
      asOf: { kind: string; position: string };
      messages: { messageId: string; content: unknown; versions: unknown[]; position: string }[];
    };
    expect(json.view).toBe('conversation');
    expect(json.conversationId).toBe(ward);
    expect(json.asOf).toEqual({ kind: 'position', position: beforeEditPosition });
    expect(json.messages).toHaveLength(1);
    expect(json.messages[0]).toMatchObject({
      messageId: m1,
      content: { status: 'available', text: 'BP 120/80, recheck at noon' },
      position: beforeEditPosition,
    });
  });

  it('bad arguments: a clear message, a non-zero exit, and no replay recorded', async () => {
    const before = (await auditRecords()).length;
    const both = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      beforeEditTime,
      '--conversation',
      ward,
      '--user',
      'bob',
    );
    expect(both.code).toBe(1);
    expect(both.err).toContain('give exactly one of --conversation or --user');
    const neither = cli(env, 'replay', '--tenant', tenant, '--as-of', beforeEditTime);
    expect(neither.code).toBe(1);
    expect(neither.err).toContain('give exactly one of --conversation or --user');
    const badTime = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      'last tuesday',
      '--conversation',
      ward,
    );
    expect(badTime.code).toBe(1);
    expect(badTime.err).toContain('invalid_as_of');
    const noZone = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      '2026-11-25T10:00:00',
      '--conversation',
      ward,
    );
    expect(noZone.code).toBe(1);
    const unknown = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      beforeEditTime,
      '--conversation',
      randomUUID(),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('conversation_not_found');
    const badId = cli(
      env,
      'replay',
      '--tenant',
      tenant,
      '--as-of',
      beforeEditTime,
      '--conversation',
      'not-a-uuid',
    );
    expect(badId.code).toBe(1);
    const missing = cli(env, 'replay', '--as-of', beforeEditTime, '--conversation', ward);
    expect(missing.code).toBe(64);
    expect(missing.err).toContain('--tenant');
    expect((await auditRecords()).length).toBe(before);
  });
});
