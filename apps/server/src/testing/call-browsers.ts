import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { loadConfig } from '@ledgerline/kernel';
import {
  devToken,
  openTestDatabase,
  E2E_TEST_TIMEOUT_MS,
  type TestDatabase,
  type TestDatabaseKind,
} from '@ledgerline/testing';
import { startServer, type RunningServer } from '../bootstrap';

/**
 * What the browser call tests share: the server started in-process on a test database, the call
 * pages served from their own origin, real Chromium browsers each in a process of its own (the
 * test kills one as a crash would), and getStats read until media flows.
 */
export const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const STATS_WAIT_MS = 120_000;

/** Why browser call tests cannot run here (no Chromium), or undefined. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `no Chromium at ${CHROMIUM}; scripts/ci/install-chromium.sh`;
}

/** The suite, or (when something it needs is missing) the suite skipped with the reason in its name. */
export function describeUnlessMissing(
  name: string,
  missing: readonly (string | undefined)[],
  fn: () => void,
): void {
  const reason = missing.find((m) => m !== undefined);
  if (reason === undefined) describe(name, fn);
  else describe.skip(`${name} [skipped: ${reason}]`, fn);
}

/** A file the page server serves, by path. */
export interface ServedFile {
  readonly type: string;
  readonly body: string;
}

/** One browser in the call, in its own process. */
export interface CallBrowser {
  readonly page: Page;
  readonly browser: Browser;
  readonly process: BrowserServer;
  /** Kills the browser's process: no leave, no close frame, as a crash. */
  kill(): void;
}

/** What a call page shows of the media it receives (getStats, inbound-rtp summed). */
export interface ReceivedMedia {
  readonly videoFramesDecoded: number;
  readonly audioPacketsReceived: number;
  readonly audioSamplesReceived: number;
}

/** Decoded video and received, played-out audio. */
export function mediaFlowing(media: ReceivedMedia | undefined): boolean {
  return (
    media !== undefined &&
    media.videoFramesDecoded > 10 &&
    media.audioPacketsReceived > 10 &&
    media.audioSamplesReceived > 0
  );
}

export class CallBrowserRig {
  private readonly launched: BrowserServer[] = [];
  private readonly browsers: Browser[] = [];

  private constructor(
    readonly server: RunningServer,
    private readonly db: TestDatabase | undefined,
    private readonly dataDir: string,
    private readonly pages: Server,
    readonly pageUrl: string,
    private readonly tenantId: string,
  ) {}

  /**
   * The server on the given database (with the calls settings the browser tests need, plus
   * `env`), and the pages (`/` is the call page) on their own origin, as a web app's would be
   * (127.0.0.1 is a secure context: getUserMedia is allowed).
   */
  static async start(
    kind: TestDatabaseKind,
    options: {
      readonly tenantId: string;
      readonly files: Readonly<Record<string, ServedFile>>;
      readonly env?: Readonly<Record<string, string>>;
    },
  ): Promise<CallBrowserRig> {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-calls-e2e-'));
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'silent',
      LEDGERLINE_PORT: '0',
      LEDGERLINE_METRICS_PORT: '0',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_TURN_SECRETS: 'e2e-calls-secret-0123456789',
      LEDGERLINE_CALL_GRACE_MS: '1500',
      LEDGERLINE_CALL_SWEEP_INTERVAL_MS: '100',
      ...options.env,
    };
    const db = kind === 'postgres' ? await openTestDatabase('postgres') : undefined;
    if (db) env['DATABASE_URL'] = db.url!;
    const server = await startServer(loadConfig(env));
    const pages = createServer((req, res) => {
      const file = options.files[new URL(req.url ?? '/', 'http://page').pathname];
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file.type });
      res.end(file.body);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    const pageUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`;
    return new CallBrowserRig(server, db, dataDir, pages, pageUrl, options.tenantId);
  }

  /** A browser of its own opening the call page as this user and device, connected. */
  async open(userId: string, deviceId: string): Promise<CallBrowser> {
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
    this.launched.push(launched);
    const browser = await chromium.connect(launched.wsEndpoint());
    this.browsers.push(browser);
    const page = await (await browser.newContext()).newPage();
    // Waits are on signals; on a busy machine they may take long (never asserted).
    page.setDefaultTimeout(E2E_TEST_TIMEOUT_MS);
    await page.goto(`${this.pageUrl}?user=${userId}&device=${deviceId}`);
    const token = await this.token(userId);
    const wsUrl = `${this.server.url.replace(/^http/, 'ws')}/v1/realtime`;
    await page.evaluate(
      ([url, t]) =>
        (globalThis as unknown as { connect(u: string, t: string): Promise<void> }).connect(
          url!,
          t!,
        ),
      [wsUrl, token],
    );
    return { page, browser, process: launched, kill: () => launched.process().kill('SIGKILL') };
  }

  token(userId: string): Promise<string> {
    return devToken(this.server.url, { tenantId: this.tenantId, userId });
  }

  async close(): Promise<void> {
    for (const b of this.browsers) await b.close().catch(() => undefined);
    for (const l of this.launched) await l.close().catch(() => undefined);
    await new Promise((resolve) => this.pages.close(resolve));
    await this.server.shutdown('test done');
    await this.db?.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * Reads the page's `mediaStats()` (its getStats figures) until `done` says media flows, or for
 * at most two minutes (a backstop on a busy machine, not a measure of how soon media flows). Past
 * that it fails with the last reading and, where the page has `mediaDiagnostics()`, its errors and
 * each receiver's connection state and inbound figures: why the media did not arrive.
 */
export async function statsWhen<T>(page: Page, done: (stats: T) => boolean): Promise<T> {
  const deadline = Date.now() + STATS_WAIT_MS;
  for (;;) {
    const stats = await page.evaluate(() =>
      (globalThis as unknown as { mediaStats(): Promise<T> }).mediaStats(),
    );
    if (done(stats)) return stats;
    if (Date.now() > deadline) {
      const diagnostics = await page.evaluate(() => {
        const diagnose = (globalThis as { mediaDiagnostics?: () => Promise<unknown> })
          .mediaDiagnostics;
        return diagnose ? diagnose() : 'the page has no mediaDiagnostics()';
      });
      throw new Error(
        `media did not flow within ${STATS_WAIT_MS / 1000} s: last stats ` +
          `${JSON.stringify(stats)}; the page's diagnostics ${JSON.stringify(diagnostics)}`,
      );
    }
    await page.waitForTimeout(250);
  }
}
