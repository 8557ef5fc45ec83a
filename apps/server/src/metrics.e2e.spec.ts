import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  availableDatabases,
  devToken,
  graphqlRequest,
  launchServerProcess,
  openTestDatabase,
  type LaunchedServer,
  type TestDatabase,
} from '@ledgerline/testing';
import { RealtimeTestClient } from './testing/realtime-test-client';

// The built server as deployed, a real `ws` client speaking the realtime protocol, and Prometheus's
// view of it: a plain HTTP GET on the operator listener. The counters move with the work done, and
// nothing that names a tenant, a user, a conversation or a message appears in what is scraped.

const TENANT = `clinic-metrics-${randomUUID().slice(0, 8)}`;
const CANARY = `canary-${randomUUID()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The value of one sample (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string | undefined> = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((l): [string, string] => [
        l[1]!,
        l[2]!,
      ]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
}

/** Sum of every sample of `name` (over all label sets). */
function total(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) sum += Number(m[2]);
  }
  return sum;
}

async function scrape(metricsUrl: string): Promise<string> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** Scrapes until `ok` holds for the text (gauges follow closes a moment later); answers that text. */
async function scrapeUntil(metricsUrl: string, ok: (text: string) => boolean): Promise<string> {
  const until = Date.now() + 20_000;
  for (;;) {
    const text = await scrape(metricsUrl);
    if (ok(text) || Date.now() > until) return text;
    await sleep(50);
  }
}

/**
 * The public and operator URLs, from the start-up lines the server prints once it listens. Waits
 * for that signal (or the process's exit) as long as a loaded machine needs: the cap is only there
 * so a server that never starts fails the suite rather than hangs it.
 */
async function urlsOf(server: LaunchedServer): Promise<{ url: string; metricsUrl: string }> {
  const until = Date.now() + 240_000;
  for (;;) {
    const url = /"url":"(http:\/\/[^"]+)"/.exec(server.output())?.[1];
    const metricsUrl = /"metricsUrl":"(http:\/\/[^"]+)"/.exec(server.output())?.[1];
    if (url && metricsUrl) return { url, metricsUrl };
    if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
    if (Date.now() > until) {
      await server.stop('SIGKILL');
      throw new Error(`server did not start:\n${server.output()}`);
    }
    await sleep(50);
  }
}

describe.each(availableDatabases())('metrics of the built server (%s)', (kind) => {
  let dataDir: string;
  let db: TestDatabase | undefined;
  let server: LaunchedServer & { url: string };
  let metricsUrl: string;
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-metrics-e2e-'));
    const env: Record<string, string> = {
      LEDGERLINE_DATA_DIR: dataDir,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
    };
    if (kind === 'postgres') {
      db = await openTestDatabase('postgres');
      env['DATABASE_URL'] = db.url!;
    }
    const launched = launchServerProcess(env);
    const urls = await urlsOf(launched);
    server = { ...launched, url: urls.url };
    metricsUrl = urls.metricsUrl;
  }, 300_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.terminate()));
    await server?.stop();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('serves /metrics on the loopback operator listener only, never on the public port', async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(metricsUrl).port).not.toBe(new URL(server.url).port);
    const publicMetrics = await fetch(`${server.url}/metrics`);
    expect(publicMetrics.status).toBe(404);
    await publicMetrics.text();
    const text = await scrape(metricsUrl);
    // Default process metrics share the registry.
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('counts SQL, connections, deliveries and send-to-ack around a realtime send, with no id in any label', async () => {
    const before = await scrape(metricsUrl);
    const statementsBefore = total(before, 'ledgerline_sql_statements_total');

    const aliceToken = await devToken(server.url, { tenantId: TENANT, userId: 'alice' });
    const created = await graphqlRequest<{ createGroupConversation: { conversationId: string } }>(
      server.url,
      aliceToken,
      `mutation($input: CreateGroupConversationInput!) { createGroupConversation(input: $input) { conversationId } }`,
      { input: { title: 'Ward 9', members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }] } },
    );
    const conversationId = created.createGroupConversation.conversationId;

    const alice = await RealtimeTestClient.hello('alice', server.url, {
      token: aliceToken,
      deviceId: 'alice-phone',
    });
    clients.push(alice);
    const synced = await alice.request('sync', { discover: true });
    expect(synced.ok).toBe(true);
    const ack = await alice.request('send', {
      conversationId,
      clientMessageId: 'm-1',
      text: CANARY,
    });
    expect(ack.ok).toBe(true);
    const events = await alice.eventsOf(conversationId, 2);
    expect(events.map((e) => e.kind)).toContain('MessageSent');

    const text = await scrape(metricsUrl);
    expect(total(text, 'ledgerline_sql_statements_total')).toBeGreaterThan(statementsBefore);
    expect(total(text, 'ledgerline_sql_commits_total')).toBeGreaterThan(0);
    expect(sample(text, 'ledgerline_connections', { transport: 'realtime' })).toBe(1);
    expect(sample(text, 'ledgerline_connections', { transport: 'graphql-ws' })).toBe(0);
    expect(total(text, 'ledgerline_deliveries_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'ledgerline_send_to_ack_seconds_count', { outcome: 'ok' })).toBe(1);
    // The message reached alice's own connection live: its time since the append is observed.
    expect(sample(text, 'ledgerline_deliveries_total', { path: 'live' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'ledgerline_append_to_deliver_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'ledgerline_key_provider_calls_total', { operation: 'generate', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(total(text, 'ledgerline_data_key_cache_lookups_total')).toBeGreaterThan(0);

    // Labels (and everything else) carry no tenant, user, device, conversation, event or message.
    for (const secret of [
      TENANT,
      'alice',
      'bob',
      'alice-phone',
      conversationId,
      ack['eventId'] as string,
      CANARY,
      'Ward 9',
    ]) {
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
    }

    await alice.close();
    const closed = await scrapeUntil(
      metricsUrl,
      (t) => sample(t, 'ledgerline_connections', { transport: 'realtime' }) === 0,
    );
    expect(sample(closed, 'ledgerline_connections', { transport: 'realtime' })).toBe(0);
  });

  it('counts graphql-ws sockets while they are open', async () => {
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/graphql`;
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    try {
      const open = await scrapeUntil(
        metricsUrl,
        (t) => sample(t, 'ledgerline_connections', { transport: 'graphql-ws' }) === 1,
      );
      expect(sample(open, 'ledgerline_connections', { transport: 'graphql-ws' })).toBe(1);
    } finally {
      socket.close();
    }
    const closed = await scrapeUntil(
      metricsUrl,
      (t) => sample(t, 'ledgerline_connections', { transport: 'graphql-ws' }) === 0,
    );
    expect(sample(closed, 'ledgerline_connections', { transport: 'graphql-ws' })).toBe(0);
  });
});
