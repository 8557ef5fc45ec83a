import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphQLClient } from 'graphql-request';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { auditStreamId, parseAccessRecorded } from '@ledgerline/audit';
import { loadConfig } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  availableDatabases,
  clientHeaders,
  devToken,
  openTestDatabase,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
  type TestDatabase,
} from '@ledgerline/testing';
import { startServer, type RunningServer } from './bootstrap';
import { CALL_PAGE } from './testing/call-page';

// Two real browsers (Debian's Chromium, driven by playwright-core, with fake camera and microphone)
// hold a 1:1 call through the server's /v1/realtime signalling, peer-to-peer on loopback. The test
// reads each browser's getStats: video frames decoded and audio received, both ways. Then one
// browser is killed: its connection dies, it leaves after the grace period, the call ends, the
// call's history entry names both, and so do the audit records.
//
// Group calls through the SFU engines (mediasoup, Janus) get their three-browser test once the
// engines of libs/sfu are merged: see docs/realtime-protocol.md (Calls).

jest.setTimeout(E2E_TEST_TIMEOUT_MS);

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const TENANT = 'clinic-calls';
/** The suite, or (without Chromium) the suite skipped with the reason in its name. */
function describeWithChromium(name: string, fn: () => void): void {
  if (existsSync(CHROMIUM)) describe(name, fn);
  else
    describe.skip(
      `${name} [skipped: no Chromium at ${CHROMIUM}; scripts/ci/install-chromium.sh]`,
      fn,
    );
}

const CREATE = /* GraphQL */ `
  mutation Create($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;
const HISTORY = /* GraphQL */ `
  query History($conversationId: ID!) {
    callHistory(conversationId: $conversationId) {
      callId
      startedBy
      participants
      durationMs
      outcome
      status
    }
  }
`;

const CONVERSATION_CALLS = /* GraphQL */ `
  query {
    conversations {
      items {
        id
        calls {
          callId
          participants
          outcome
        }
      }
    }
  }
`;

interface Stats {
  videoFramesDecoded: number;
  audioPacketsReceived: number;
  audioSamplesReceived: number;
}

describeWithChromium('a 1:1 call between two browsers', () => {
  describe.each(availableDatabases())('on %s', (kind) => {
    let server: RunningServer;
    let db: TestDatabase | undefined;
    let dataDir: string;
    let pages: Server;
    let pageUrl: string;
    const browsers: Browser[] = [];
    const launchedServers: BrowserServer[] = [];

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-calls-e2e-'));
      const env: Record<string, string> = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        LEDGERLINE_PORT: '0',
        LEDGERLINE_METRICS_PORT: '0',
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_TURN_SECRETS: 'e2e-calls-secret-0123456789',
        LEDGERLINE_CALL_GRACE_MS: '1500',
        LEDGERLINE_CALL_SWEEP_INTERVAL_MS: '100',
      };
      if (kind === 'postgres') {
        db = await openTestDatabase('postgres');
        env['DATABASE_URL'] = db.url!;
      }
      server = await startServer(loadConfig(env));
      // The page is served from its own origin, as a web app would be (127.0.0.1 is a secure
      // context: getUserMedia is allowed).
      pages = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(CALL_PAGE);
      });
      await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
      pageUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`;
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      for (const b of browsers) await b.close().catch(() => undefined);
      for (const l of launchedServers) await l.close().catch(() => undefined);
      if (pages) await new Promise((resolve) => pages.close(resolve));
      await server?.shutdown('test done');
      await db?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }, STARTUP_TIMEOUT_MS);

    async function open(
      userId: string,
      deviceId: string,
    ): Promise<{ page: Page; browser: Browser; process: BrowserServer }> {
      // A browser process of its own, which the test can kill like a crash would.
      const launched = await chromium.launchServer({
        executablePath: CHROMIUM,
        args: [
          '--use-fake-device-for-media-stream',
          '--use-fake-ui-for-media-stream',
          '--allow-loopback-in-peer-connection',
          '--no-sandbox',
          '--disable-dev-shm-usage',
        ],
      });
      launchedServers.push(launched);
      const browser = await chromium.connect(launched.wsEndpoint());
      browsers.push(browser);
      const page = await (await browser.newContext()).newPage();
      // Waits are on signals; on a busy machine they may take long (never asserted).
      page.setDefaultTimeout(E2E_TEST_TIMEOUT_MS);
      await page.goto(`${pageUrl}?user=${userId}&device=${deviceId}`);
      const token = await devToken(server.url, { tenantId: TENANT, userId });
      const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/realtime`;
      await page.evaluate(
        ([url, t]) =>
          (globalThis as unknown as { connect(u: string, t: string): Promise<void> }).connect(
            url!,
            t!,
          ),
        [wsUrl, token],
      );
      return { page, browser, process: launched };
    }

    const stats = (page: Page) =>
      page.evaluate(() => (globalThis as unknown as { mediaStats(): Promise<Stats> }).mediaStats());

    /** Waits until the page's getStats show decoded video and received audio. */
    async function mediaFlowing(page: Page): Promise<Stats> {
      // getStats is the signal: read it until the figures show media flowing (bounded by the
      // test's timeout; nothing here asserts how soon).
      for (;;) {
        const s = await stats(page);
        if (
          s.videoFramesDecoded > 10 &&
          s.audioPacketsReceived > 10 &&
          s.audioSamplesReceived > 0
        ) {
          return s;
        }
        await page.waitForTimeout(250);
      }
    }

    it('media flows both ways; killing one browser makes it leave and ends the call; history and audit name both', async () => {
      const alice = `alice-${kind}`;
      const bob = `bob-${kind}`;
      const aliceToken = await devToken(server.url, { tenantId: TENANT, userId: alice });
      const gql = new GraphQLClient(`${server.url}/graphql`, {
        headers: clientHeaders(aliceToken),
      });
      const created = await gql.request<{ createGroupConversation: { conversationId: string } }>(
        CREATE,
        {
          input: { title: 'Video visit', members: [{ id: bob }] },
        },
      );
      const conversationId = created.createGroupConversation.conversationId;

      const a = await open(alice, 'alice-laptop');
      const b = await open(bob, 'bob-laptop');
      const callId = await a.page.evaluate(
        (id) => (globalThis as unknown as { startCall(c: string): Promise<string> }).startCall(id),
        conversationId,
      );
      await b.page.waitForFunction(
        (id) => (globalThis as unknown as { ll: { ringing: string | null } }).ll.ringing === id,
        callId,
        {
          timeout: E2E_TEST_TIMEOUT_MS,
        },
      );
      await b.page.evaluate(() =>
        (globalThis as unknown as { accept(): Promise<string> }).accept(),
      );

      const [atAlice, atBob] = await Promise.all([mediaFlowing(a.page), mediaFlowing(b.page)]);
      expect(atAlice.videoFramesDecoded).toBeGreaterThan(10);
      expect(atBob.videoFramesDecoded).toBeGreaterThan(10);
      expect(atAlice.audioSamplesReceived).toBeGreaterThan(0);
      expect(atBob.audioSamplesReceived).toBeGreaterThan(0);

      // Bob's browser dies: no leave, no close frame. The server sees the socket go, waits the
      // grace period, and takes bob out; a direct call then ends.
      b.process.process().kill('SIGKILL');
      await a.page.waitForFunction(
        () =>
          (globalThis as unknown as { ll: { call: { status: string } | null } }).ll.call?.status ===
          'ended',
        undefined,
        { timeout: E2E_TEST_TIMEOUT_MS },
      );
      expect(
        await a.page.evaluate(
          () => (globalThis as unknown as { ll: { errors: string[] } }).ll.errors,
        ),
      ).toEqual([]);

      let history:
        | {
            callHistory: {
              callId: string;
              startedBy: string;
              participants: string[];
              durationMs: number | null;
              outcome: string | null;
              status: string;
            }[];
          }
        | undefined;
      for (let i = 0; i < 200; i++) {
        const page: NonNullable<typeof history> = await gql.request(HISTORY, { conversationId });
        history = page;
        if (page.callHistory[0]?.status === 'ended') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(history?.callHistory[0]).toMatchObject({
        callId,
        startedBy: alice,
        participants: [alice, bob],
        outcome: 'completed',
      });
      expect(history?.callHistory[0]?.durationMs).toBeGreaterThan(0);

      // The conversation itself shows the call as an entry of its history.
      const listed = await gql.request<{
        conversations: {
          items: {
            id: string;
            calls: { callId: string; participants: string[]; outcome: string | null }[];
          }[];
        };
      }>(CONVERSATION_CALLS);
      expect(listed.conversations.items.find((c) => c.id === conversationId)?.calls).toEqual([
        { callId, participants: [alice, bob], outcome: 'completed' },
      ]);

      const ledger = server.app.get<Ledger>(LEDGER);
      let records: NonNullable<ReturnType<typeof parseAccessRecorded>>[] = [];
      for (let i = 0; i < 200; i++) {
        const audit = await ledger.readStream(auditStreamId(TENANT));
        records = audit
          .map((e) =>
            e.body.status === 'available' ? parseAccessRecorded(e.body.payload) : undefined,
          )
          .filter(
            (r): r is NonNullable<typeof r> => r !== undefined && r.targetIds.includes(callId),
          );
        if (records.filter((r) => r.action === 'call.left').length >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const joined = records
        .filter((r) => r.action === 'call.joined')
        .map((r) => r.subjectUserIds[0]);
      expect(joined.sort()).toEqual([alice, bob]);
      const left = records.filter((r) => r.action === 'call.left');
      expect(left.find((r) => r.subjectUserIds[0] === bob)).toMatchObject({
        reason: 'connection_lost',
      });
      expect(left.map((r) => r.subjectUserIds[0]).sort()).toEqual([alice, bob]);
    });
  });
});
