import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { DEV_TOKEN_ISSUER, type DevTokenIssuer } from '@ledgerline/identity';
import { loadConfig } from '@ledgerline/kernel';
import { auditStreamId } from '@ledgerline/audit';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { RealtimeGateway } from '@ledgerline/realtime';
import {
  TEST_DATABASE_URL,
  availableDatabases,
  graphqlRequest,
  openTestDatabase,
  type TestDatabase,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';
import { startServer, type RunningServer } from './bootstrap';
import {
  RealtimeTestClient,
  refusedUpgrade,
  type ServerFrame,
} from './testing/realtime-test-client';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// The realtime protocol against the whole server booted in this process (real HTTP server, real
// database, real crypto), spoken by real `ws` clients. Bad input of every kind gets a typed error
// or the documented close code; nothing it sends is written.

const TENANT = 'clinic-rt';
const ORIGIN = 'https://app.example.test';
/** The send buffer cap of the main server: small, so a client that never reads overflows it. */
const SEND_BUFFER = 256 * 1024;
/** Stands for PHI: sent as message text, it must never show up in an error or a log. */
const CANARY = `canary-${randomUUID()}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The main server's JWT clock tolerance. */
const TOLERANCE_SEC = 3;

interface Booted {
  readonly server: RunningServer;
  readonly url: string;
  readonly dataDir: string;
  readonly db: TestDatabase | undefined;
  readonly issuer: DevTokenIssuer;
  readonly gateway: RealtimeGateway;
}

async function boot(kind: 'pglite' | 'postgres', env: Record<string, string>): Promise<Booted> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-realtime-e2e-'));
  const db = kind === 'postgres' ? await openTestDatabase('postgres') : undefined;
  const config = loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    LEDGERLINE_PORT: '0',
    LEDGERLINE_METRICS_PORT: '0',
    LEDGERLINE_DATA_DIR: dataDir,
    LEDGERLINE_ALLOWED_ORIGINS: ORIGIN,
    ...(db ? { DATABASE_URL: db.url! } : {}),
    ...env,
  });
  const server = await startServer(config);
  return {
    server,
    url: server.url,
    dataDir,
    db,
    issuer: server.app.get<DevTokenIssuer>(DEV_TOKEN_ISSUER),
    gateway: server.app.get(RealtimeGateway),
  };
}

async function shutDown(booted: Booted | undefined): Promise<void> {
  if (!booted) return;
  await booted.server.shutdown('test over');
  await booted.db?.close();
  rmSync(booted.dataDir, { recursive: true, force: true });
}

async function token(booted: Booted, userId: string, ttlSec?: number): Promise<string> {
  const issued = await booted.issuer.issue({
    tenantId: TENANT,
    userId,
    roles: ['user'],
    ...(ttlSec === undefined ? {} : { ttlSec }),
  });
  return issued.token;
}

async function createGroup(booted: Booted, ownerToken: string, members: string[]): Promise<string> {
  const data = await graphqlRequest<{ createGroupConversation: { conversationId: string } }>(
    booted.url,
    ownerToken,
    `
      mutation ($input: CreateGroupConversationInput!) {
        createGroupConversation(input: $input) {
          conversationId
        }
      }
    `,
    {
      input: {
        title: 'Ward 4',
        members: members.map((id) => ({ id, kind: 'USER', role: 'MEMBER' })),
      },
    },
  );
  return data.createGroupConversation.conversationId;
}

async function history(booted: Booted, bearer: string, conversationId: string) {
  const data = await graphqlRequest<{ messages: { items: { id: string; text: string | null }[] } }>(
    booted.url,
    bearer,
    `
      query ($c: ID!) {
        messages(conversationId: $c, first: 100) {
          items {
            id
            text
          }
        }
      }
    `,
    { c: conversationId },
  );
  return data.messages.items;
}

function errorOf(frame: ServerFrame) {
  expect(frame.ok).toBe(false);
  return frame.error!;
}

describe.each(availableDatabases())('realtime protocol, booted server (%s)', (kind) => {
  let main: Booted;
  const clients: RealtimeTestClient[] = [];
  let aliceToken: string;
  let bobToken: string;
  let groupId: string;

  async function client(
    name: string,
    bearer: string,
    deviceId?: string,
  ): Promise<RealtimeTestClient> {
    const c = await RealtimeTestClient.hello(name, main.url, {
      token: bearer,
      ...(deviceId ? { deviceId } : {}),
    });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    main = await boot(kind, {
      LEDGERLINE_REALTIME_SEND_BUFFER_BYTES: String(SEND_BUFFER),
      LEDGERLINE_REALTIME_RATE_PER_CONNECTION: '100',
      LEDGERLINE_REALTIME_RATE_PER_USER: '400',
      LEDGERLINE_REALTIME_ABUSE_LIMIT: '10',
      LEDGERLINE_REALTIME_MAX_FRAME_BYTES: String(64 * 1024),
      LEDGERLINE_REALTIME_HEARTBEAT_MS: '60000',
      // Short, so the expiry tests can wait for it to run out.
      LEDGERLINE_JWT_CLOCK_TOLERANCE_SEC: String(TOLERANCE_SEC),
    });
    aliceToken = await token(main, 'alice');
    bobToken = await token(main, 'bob');
    groupId = await createGroup(main, aliceToken, ['bob']);
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.terminate()));
    await shutDown(main);
  }, 60_000);

  it('refuses bad upgrades before the WebSocket opens', async () => {
    const absent = await refusedUpgrade(main.url);
    expect(absent.status).toBe(401);
    expect(absent.headers['www-authenticate']).toBe('Bearer realm="ledgerline"');

    const bad = await refusedUpgrade(main.url, { token: 'not-a-token' });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('invalid_token');

    const forged = await refusedUpgrade(main.url, { token: `${aliceToken.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);

    const origin = await refusedUpgrade(main.url, {
      token: aliceToken,
      origin: 'https://evil.example',
    });
    expect(origin.status).toBe(403);

    const otherProtocol = await refusedUpgrade(main.url, {
      token: aliceToken,
      protocols: ['mqtt'],
    });
    expect(otherProtocol.status).toBe(400);

    const unknownPath = await refusedUpgrade(main.url, { token: aliceToken, path: '/v1/nope' });
    expect(unknownPath.status).toBe(404);

    expect(main.gateway.stats().connections).toBe(0);
  });

  it('accepts a browser (subprotocol credential, allowed origin) beside graphql-ws on one server', async () => {
    const browser = await RealtimeTestClient.connect('browser', main.url, {
      token: aliceToken,
      asSubprotocol: true,
      origin: ORIGIN,
    });
    clients.push(browser);
    expect(browser.socket.protocol).toBe('ledgerline.v1');
    const hello = await browser.request('hello', { deviceId: 'alice-browser' });
    expect(hello).toMatchObject({
      ok: true,
      protocol: 1,
      principal: { id: 'alice', kind: 'user', tenantId: TENANT },
      sendBufferBytes: SEND_BUFFER,
    });

    // graphql-ws still answers on its own path.
    const gql = createClient({
      url: `${main.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${aliceToken}` },
    });
    const me = await new Promise<unknown>((resolve, reject) => {
      gql.subscribe(
        { query: '{ me { id } }' },
        { next: (r) => resolve(r.data), error: reject, complete: () => undefined },
      );
    });
    expect(me).toEqual({ me: { id: 'alice' } });
    await gql.dispose();
    await browser.close();
  });

  it('answers every malformed frame with a typed error and stays open, writing nothing', async () => {
    const c = await RealtimeTestClient.connect('mallet', main.url, { token: aliceToken });
    clients.push(c);

    // Before hello: nothing but hello.
    const early = await c.request('send', {
      conversationId: groupId,
      clientMessageId: 'early-1',
      text: CANARY,
    });
    expect(errorOf(early)).toMatchObject({ code: 'hello_required', retryable: false });
    expect((await c.request('hello', { deviceId: 'mallet-1' })).ok).toBe(true);
    const again = await c.request('hello', {});
    expect(errorOf(again)).toMatchObject({ code: 'invalid_state', reason: 'hello_done' });

    const next = () => c.frames.length;
    let from = next();
    c.sendRaw(`{"v":1,"op":"send","ref":"x", ${CANARY}`);
    const malformed = await c.waitFor((f) => f.type === 'reply', 5_000, from);
    expect(malformed).toMatchObject({ ref: null, ok: false, error: { code: 'invalid_frame' } });

    from = next();
    c.sendRaw('[1,2,3]');
    expect(errorOf(await c.waitFor((f) => f.type === 'reply', 5_000, from)).code).toBe(
      'invalid_frame',
    );

    from = next();
    c.sendRaw(JSON.stringify({ v: 1, op: 'ping' }));
    const noRef = await c.waitFor((f) => f.type === 'reply', 5_000, from);
    expect(noRef).toMatchObject({ ref: null, error: { code: 'invalid_frame' } });

    from = next();
    c.sendRaw(Buffer.from([1, 2, 3]), true);
    expect(errorOf(await c.waitFor((f) => f.type === 'reply', 5_000, from)).code).toBe(
      'invalid_frame',
    );

    from = next();
    c.sendRaw(JSON.stringify({ v: 2, op: 'ping', ref: 'v2' }));
    expect(await c.waitFor((f) => f.ref === 'v2', 5_000, from)).toMatchObject({
      ok: false,
      error: { code: 'unsupported_version' },
    });

    const unknown = await c.request('teleport', { to: 'mars' });
    expect(errorOf(unknown)).toMatchObject({ code: 'unknown_op', retryable: false });

    const missing = await c.request('send', { conversationId: groupId, clientMessageId: 'm-1' });
    expect(errorOf(missing)).toMatchObject({
      code: 'invalid_input',
      fields: [{ field: 'text', constraints: expect.arrayContaining(['isString']) as unknown }],
    });

    const extra = await c.request('send', {
      conversationId: groupId,
      clientMessageId: 'm-2',
      text: 'hello',
      admin: true,
    });
    expect(errorOf(extra)).toMatchObject({
      code: 'invalid_input',
      fields: [{ field: 'admin', constraints: ['whitelistValidation'] }],
    });

    const badId = await c.request('send', {
      conversationId: 'not-a-uuid',
      clientMessageId: 'm-3',
      text: CANARY,
    });
    expect(errorOf(badId).fields).toEqual([{ field: 'conversationId', constraints: ['isUuid'] }]);

    const tooLong = await c.request('send', {
      conversationId: groupId,
      clientMessageId: 'm-4',
      text: `${CANARY}${'x'.repeat(10_001)}`,
    });
    expect(errorOf(tooLong).fields).toEqual([{ field: 'text', constraints: ['maxLength'] }]);

    const control = await c.request('send', {
      conversationId: groupId,
      clientMessageId: 'm-5',
      text: `bell \u0007 ${CANARY}`,
    });
    expect(errorOf(control)).toMatchObject({ code: 'invalid_input', reason: 'control_character' });

    const notMine = await c.request('send', {
      conversationId: randomUUID(),
      clientMessageId: 'm-6',
      text: CANARY,
    });
    expect(errorOf(notMine)).toMatchObject({ code: 'not_found', reason: 'conversation_not_found' });

    const badSync = await c.request('sync', { conversations: [{ conversationId: groupId }] });
    expect(errorOf(badSync).fields).toEqual([
      { field: 'conversations.0.revision', constraints: expect.any(Array) as unknown },
    ]);

    // Still open and answering; no error quoted the canary; nothing was written.
    expect((await c.request('ping')).ok).toBe(true);
    expect(JSON.stringify(c.frames)).not.toContain(CANARY);
    expect(await history(main, aliceToken, groupId)).toEqual([]);
    await c.close();
  });

  it('acknowledges a send after the append, delivers it to every device once, and answers a retry with the original ack', async () => {
    const phone = await client('alice-phone', aliceToken, 'alice-phone');
    const laptop = await client('alice-laptop', aliceToken, 'alice-laptop');
    const bobPhone = await client('bob-phone', bobToken, 'bob-phone');
    for (const c of [phone, laptop, bobPhone]) {
      expect(
        await c.request('sync', { conversations: [{ conversationId: groupId, revision: -1 }] }),
      ).toMatchObject({
        ok: true,
        conversations: [{ conversationId: groupId, status: 'ok', revision: 0 }],
      });
    }
    const send = { conversationId: groupId, clientMessageId: 'hello-1', text: 'Hello Bob' };
    const ack = await phone.request('send', send);
    expect(ack).toMatchObject({
      ok: true,
      conversationId: groupId,
      clientMessageId: 'hello-1',
      duplicate: false,
      messageId: expect.any(String) as unknown,
      eventId: expect.any(String) as unknown,
      position: expect.stringMatching(/^\d+\.\d+$/) as unknown,
      revision: 1,
    });
    for (const c of [phone, laptop, bobPhone]) {
      const [created, sent] = await c.eventsOf(groupId, 2);
      expect(created).toMatchObject({
        kind: 'GroupConversationCreated',
        revision: 0,
        catchUp: true,
      });
      expect(sent).toMatchObject({
        kind: 'MessageSent',
        conversationId: groupId,
        eventId: ack['eventId'],
        position: ack['position'],
        revision: 1,
        messageId: ack['messageId'],
        text: 'Hello Bob',
      });
      expect(sent!.catchUp).toBeUndefined();
    }
    const retried = await laptop.request('send', send);
    expect(retried).toMatchObject({
      ok: true,
      duplicate: true,
      messageId: ack['messageId'],
      eventId: ack['eventId'],
      position: ack['position'],
      revision: 1,
    });
    const edit = await bobPhone.request('react', {
      conversationId: groupId,
      messageId: ack['messageId'],
      emoji: '👍',
    });
    expect(edit).toMatchObject({ ok: true, changed: true, revision: 2 });
    for (const c of [phone, laptop, bobPhone]) {
      const events = await c.eventsOf(groupId, 3);
      expect(events.map((e) => e.revision)).toEqual([0, 1, 2]);
      expect(events[2]).toMatchObject({ kind: 'ReactionAdded', emoji: '👍', actorId: 'bob' });
    }
    expect(await history(main, aliceToken, groupId)).toHaveLength(1);
  });

  it('resumes a dropped device from its last revision: the missed events in order, once, then live', async () => {
    const conversationId = await createGroup(main, aliceToken, ['bob']);
    const alice = await client('alice-resume', aliceToken, 'alice-r');
    let bob = await client('bob-resume', bobToken, 'bob-r');
    await alice.request('sync', { conversations: [], discover: false });
    expect(
      await bob.request('sync', {
        conversations: [{ conversationId, revision: -1 }],
        discover: false,
      }),
    ).toMatchObject({ conversations: [{ conversationId, status: 'ok', revision: 0 }] });
    const say = async (n: number) => {
      const ack = await alice.request('send', {
        conversationId,
        clientMessageId: `r-${n}`,
        text: `message ${n}`,
      });
      expect(ack.ok).toBe(true);
      return ack;
    };
    for (let n = 1; n <= 5; n++) await say(n);
    await bob.eventsOf(conversationId, 6);
    const seen = bob.events(conversationId);
    const last = seen[seen.length - 1]!.revision;
    await bob.terminate();
    for (let n = 6; n <= 15; n++) await say(n);
    // A conversation created while bob was away: sync finds it without being told of it.
    const created = await createGroup(main, aliceToken, ['bob']);
    const news = await alice.request('send', {
      conversationId: created,
      clientMessageId: 'news-1',
      text: 'while you were away',
    });
    expect(news.ok).toBe(true);

    bob = await client('bob-resumed', bobToken, 'bob-r');
    const sync = bob.request('sync', {
      conversations: [{ conversationId, revision: last }],
      discover: true,
    });
    // Live sends while the catch-up runs: none may slip between the two, none may come twice.
    const during = Promise.all([say(16), say(17), say(18)]);
    const synced = await sync;
    expect(synced).toMatchObject({ ok: true });
    expect(synced['conversations']).toEqual(
      expect.arrayContaining([
        { conversationId, revision: expect.any(Number) as unknown, status: 'ok' },
        { conversationId: created, revision: 1, status: 'ok' },
      ]),
    );
    expect(bob.events(created).map((e) => [e.revision, e.kind, e.catchUp])).toEqual([
      [0, 'GroupConversationCreated', true],
      [1, 'MessageSent', true],
    ]);
    await during;
    for (let n = 19; n <= 20; n++) await say(n);
    // Messages 6 to 20: revisions right after the last one seen, each once, in order.
    const events = await bob.eventsOf(conversationId, 15);
    expect(events.map((e) => e.revision)).toEqual(
      Array.from({ length: 15 }, (_, i) => last + 1 + i),
    );
    expect(events.map((e) => e.text)).toEqual(
      Array.from({ length: 15 }, (_, i) => `message ${i + 6}`),
    );
    await sleep(100);
    expect(bob.events(conversationId)).toHaveLength(15);
  });

  it('pushes typing indicators to members who joined the conversation view, and presence', async () => {
    const conversationId = await createGroup(main, aliceToken, ['bob']);
    const carolToken = await token(main, 'carol');
    const alice = await client('alice-typing', aliceToken);
    const bob = await client('bob-typing', bobToken);
    const carol = await client('carol-typing', carolToken);
    expect(await bob.request('join', { conversationId })).toMatchObject({ ok: true, joined: true });
    // carol is not a member: the view stays closed to her.
    expect(errorOf(await carol.request('join', { conversationId }))).toMatchObject({
      code: 'not_found',
    });
    const typed = await alice.request('typing', { conversationId });
    expect(typed).toMatchObject({
      ok: true,
      conversationId,
      expiresAt: expect.any(String) as unknown,
    });
    expect(
      await bob.waitFor((f) => f.type === 'typing' && f['conversationId'] === conversationId),
    ).toMatchObject({ userId: 'alice', conversationId });
    expect(errorOf(await carol.request('typing', { conversationId })).code).toBe('not_found');
    expect(await alice.request('status', { status: 'away' })).toMatchObject({ ok: true });
    expect(
      await bob.waitFor(
        (f) => f.type === 'presence' && f['userId'] === 'alice' && f['status'] === 'away',
      ),
    ).toMatchObject({ type: 'presence' });
    await sleep(200);
    expect(carol.frames.filter((f) => f.type === 'typing' || f['userId'] === 'alice')).toEqual([]);
  });

  it('closes an oversized frame with 1009', async () => {
    const c = await client('big', aliceToken);
    c.sendRaw(JSON.stringify({ v: 1, op: 'ping', ref: 'big', pad: 'x'.repeat(70 * 1024) }));
    expect((await c.closed).code).toBe(1009);
  });

  it('answers a flood with rate_limited, then closes it (1008)', async () => {
    const floodToken = await token(main, 'flooder');
    const c = await client('flood', floodToken);
    // Pings without pause until the server closes: the limits allow a burst beyond the rate, and
    // how many frames a flood needs to exhaust it depends on how fast the server reads them.
    for (let i = 0; i < 50_000 && !c.isClosed; i++) {
      c.sendRaw(JSON.stringify({ v: 1, op: 'ping', ref: `p${i}` }));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1008, reason: 'Rate limit exceeded' });
    const limited = c.frames.filter((f) => f.error?.code === 'rate_limited');
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.error).toMatchObject({
      retryable: true,
      retryAfterMs: expect.any(Number) as unknown,
    });
    expect(limited[0]!.ref).toMatch(/^p\d+$/);
    expect(c.frames.filter((f) => f.ok === true).length).toBeGreaterThan(0);
  });

  // Issue 10, item 18: GraphQL accepted a token within the clock tolerance that the upgrade refused.
  it('accepts a token expired within the clock tolerance at the upgrade, as GraphQL does, until it runs out', async () => {
    const { token: lapsed, expiresAt } = await main.issuer.issue({
      tenantId: TENANT,
      userId: 'alice',
      roles: ['user'],
      ttlSec: 1,
    });
    while (Date.now() <= expiresAt.getTime() + 100) await sleep(50);
    const viaGraphql = await fetch(`${main.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${lapsed}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(viaGraphql.status).toBe(200);
    const c = await client('lapsed', lapsed);
    expect((await c.request('ping', {})).ok).toBe(true);
    expect(await c.closed).toEqual({ code: 4401, reason: 'Token expired' });
    expect((await refusedUpgrade(main.url, { token: lapsed })).status).toBe(401);
  });

  // Issue 10, item 12: a body nested 3,000 deep got `{"ok":false}` with no error.
  it('answers a frame nested 3,000 deep with invalid_frame and stays open', async () => {
    const c = await client('nested', aliceToken);
    const deep = `${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}`;
    const from = c.frames.length;
    c.sendRaw(
      `{"v":1,"op":"send","ref":"deep","conversationId":"${groupId}","clientMessageId":"deep-1","text":${deep}}`,
    );
    const reply = await c.waitFor((f) => f.type === 'reply' && f.ref === 'deep', 10_000, from);
    expect(errorOf(reply)).toMatchObject({ code: 'invalid_frame', retryable: false });
    expect(errorOf(reply).message).toMatch(/nests deeper than 32 levels/);
    expect((await c.request('ping', {})).ok).toBe(true);
  });

  // Issue 10, item 15: the new text was dropped and the send answered `duplicate: true`.
  it('refuses a clientMessageId reused with other text (idempotency_key_reused) and writes nothing', async () => {
    const c = await client('reuser', aliceToken);
    const first = await c.request('send', {
      conversationId: groupId,
      clientMessageId: 'reuse-1',
      text: 'first text',
    });
    expect(first).toMatchObject({ ok: true, duplicate: false });
    const retry = await c.request('send', {
      conversationId: groupId,
      clientMessageId: 'reuse-1',
      text: 'first text',
    });
    expect(retry).toMatchObject({ ok: true, duplicate: true, messageId: first['messageId'] });
    const reused = await c.request('send', {
      conversationId: groupId,
      clientMessageId: 'reuse-1',
      text: `other text ${CANARY}`,
    });
    expect(errorOf(reused)).toMatchObject({
      code: 'conflict',
      reason: 'idempotency_key_reused',
      retryable: false,
    });
    expect(JSON.stringify(reused)).not.toContain(CANARY);
    const texts = (await history(main, aliceToken, groupId)).map((m) => m.text);
    expect(texts.filter((t) => t === 'first text')).toHaveLength(1);
    expect(texts.some((t) => t?.includes(CANARY))).toBe(false);
  });

  // Issue 10, item 14: 850 unknown ids took 24.7 s and wrote 850 denials; 1,000 did not fit a frame.
  it('resolves a sync naming 500 unknown conversations at once, with one denial record', async () => {
    const c = await client('prober', bobToken);
    const ledger = main.server.app.get<Ledger>(LEDGER);
    const denials = async () =>
      (await ledger.readStream(auditStreamId(TENANT)))
        .flatMap((e) => (e.body.status === 'available' ? [e.body.payload] : []))
        .map((payload) => JSON.parse(payload.toString('utf8')) as Record<string, unknown>)
        .filter((r) => r['action'] === 'access.denied' && r['operation'] === 'sync');
    const before = (await denials()).length;
    const unknown = Array.from({ length: 500 }, () => randomUUID());
    const frame = JSON.stringify({
      v: 1,
      op: 'sync',
      ref: 'probe',
      conversations: unknown.map((conversationId) => ({
        conversationId,
        revision: Number.MAX_SAFE_INTEGER,
      })),
      discover: false,
    });
    expect(Buffer.byteLength(frame)).toBeLessThan(64 * 1024);
    const from = c.frames.length;
    c.sendRaw(frame);
    const reply = await c.waitFor((f) => f.type === 'reply' && f.ref === 'probe', 60_000, from);
    expect(reply.ok).toBe(true);
    const outcomes = reply['conversations'] as { status: string }[];
    expect(outcomes).toHaveLength(500);
    expect(outcomes.every((o) => o.status === 'not_found')).toBe(true);
    const recorded = (await denials()).slice(before);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      reason: 'not_a_member',
      permission: 'conversation.read',
      actor: expect.objectContaining({ id: 'bob' }) as unknown,
    });
    expect((recorded[0]!['targetIds'] as string[]).sort()).toEqual([...unknown].sort());
    // One more entry than the schema allows is refused as input, not by closing the connection.
    const tooMany = await c.request('sync', {
      conversations: [...unknown, randomUUID()].map((conversationId) => ({
        conversationId,
        revision: -1,
      })),
      discover: false,
    });
    expect(errorOf(tooMany).code).toBe('invalid_input');
    expect(c.isClosed).toBe(false);
  });

  it('closes a connection when its token expires (4401), and refuses an expired token at the upgrade', async () => {
    const shortLived = await token(main, 'alice', 2);
    const c = await client('expiring', shortLived);
    expect(await c.closed).toEqual({ code: 4401, reason: 'Token expired' });
    const expired = await refusedUpgrade(main.url, { token: shortLived });
    expect(expired.status).toBe(401);
  });

  // The database plays no part in backpressure, and filling the kernel's socket buffers takes a
  // few MB of messages: on one database only, PostgreSQL when there is one (it writes them faster).
  const backpressureOn = TEST_DATABASE_URL ? 'postgres' : 'pglite';
  const backpressureTest = kind === backpressureOn ? it : it.skip;
  backpressureTest(
    `closes a client that never reads as a slow consumer, with its send buffer bounded${kind === backpressureOn ? '' : ` [runs on ${backpressureOn} only]`}`,
    async () => {
      // Users of their own: no device of an earlier test is sent these messages (and could fall
      // behind with them on a busy machine).
      const hankToken = await token(main, 'hank');
      const conversationId = await createGroup(main, hankToken, ['ivy']);
      const ivyToken = await token(main, 'ivy');
      const sender = await client('sender', hankToken);
      const sink = await client('sink', ivyToken);
      expect(
        await sink.request('sync', {
          conversations: [{ conversationId, revision: -1 }],
          discover: false,
        }),
      ).toMatchObject({ conversations: [{ status: 'ok' }] });
      const slowConsumers = () => {
        const stats = main.gateway.stats();
        return (stats.closed.slow_consumer ?? 0) + (stats.closing.slow_consumer ?? 0);
      };
      const before = slowConsumers();
      sink.socket.pause(); // reads nothing from here on

      // Large messages (30 KB of text each) until the server gives up on the sink.
      const text = '€'.repeat(10_000);
      let sent = 0;
      while (slowConsumers() === before && sent < 1_000) {
        const ack = await sender.request('send', {
          conversationId,
          clientMessageId: `big-${sent}`,
          text,
        });
        expect(ack.ok).toBe(true);
        sent += 1;
      }
      expect(slowConsumers()).toBe(before + 1);
      // It resumes: reads what reached it, then the close. Issue 10, item 16: documented 4429,
      // seen 1006 (the socket was cut off with the close frame still queued).
      sink.socket.resume();
      const closed = await sink.closed;
      expect(closed).toEqual({ code: 4429, reason: 'Slow consumer' });
      const stats = main.gateway.stats();
      // Counted as a slow consumer: closed, or (the server's side of the close handshake may end
      // a moment after the client's) still closing.
      expect(slowConsumers()).toBe(before + 1);
      // What waited for the sink never exceeded its cap, though more than the cap was sent (how
      // much more the kernel's socket buffers absorb first varies from machine to machine).
      expect(sent * 30_000).toBeGreaterThan(SEND_BUFFER);
      expect(stats.peakBufferedBytes).toBeLessThanOrEqual(SEND_BUFFER);
      expect(stats.bufferedBytes).toBeLessThan(SEND_BUFFER);

      const got = sink.events(conversationId);
      const last = got.length === 0 ? -1 : got[got.length - 1]!.revision;
      expect(got.map((e) => e.revision)).toEqual(Array.from({ length: got.length }, (_, i) => i));
      const back = await client('sink-again', ivyToken);
      expect(
        await back.request('sync', {
          conversations: [{ conversationId, revision: last }],
          discover: false,
        }),
      ).toMatchObject({ conversations: [{ status: 'ok', revision: sent }] });
      const rest = back.events(conversationId);
      expect(rest.map((e) => e.revision)).toEqual(
        Array.from({ length: sent - last }, (_, i) => last + 1 + i),
      );
    },
    180_000,
  );
});

describe.each(availableDatabases())('realtime protocol, idle logoff and shutdown (%s)', (kind) => {
  let idle: Booted | undefined;

  beforeAll(async () => {
    idle = await boot(kind, { LEDGERLINE_REALTIME_IDLE_TIMEOUT_MS: '3000' });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await shutDown(idle);
  }, 60_000);

  it('logs off a connection with no requests (pings do not count); an active one stays', async () => {
    const booted = idle!;
    const quiet = await RealtimeTestClient.hello('quiet', booted.url, {
      token: await token(booted, 'erin'),
    });
    const active = await RealtimeTestClient.hello('active', booted.url, {
      token: await token(booted, 'frank'),
    });
    const pinging = setInterval(
      () => quiet.sendRaw(JSON.stringify({ v: 1, op: 'ping', ref: 'p' })),
      200,
    );
    const working = setInterval(
      () => active.sendRaw(JSON.stringify({ v: 1, op: 'sync', ref: 's', discover: false })),
      200,
    );
    try {
      expect(await quiet.closed).toEqual({ code: 4408, reason: 'Idle timeout' });
    } finally {
      clearInterval(pinging);
      clearInterval(working);
    }
    expect(active.isClosed).toBe(false);
    while (booted.gateway.stats().closed.idle !== 1) await sleep(10);

    // Shutting down closes what is open with 1001, and refuses new connections.
    const closing = booted.server.shutdown('test');
    expect(await active.closed).toEqual({ code: 1001, reason: 'Going away' });
    await closing;
    idle = { ...booted, server: { ...booted.server, shutdown: () => Promise.resolve() } };
  });
});
