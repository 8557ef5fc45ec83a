import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SERVER_MAIN,
  TEST_DATABASE_URL,
  assertBuilt,
  launchServerProcess,
  startServerProcess,
  E2E_TEST_TIMEOUT_MS,
} from '@ledgerline/testing';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Boots the compiled server (`npm test` builds first) as its own process, the way `npm start` does,
// and talks to it over HTTP.

describe('ledgerline server process', () => {
  let dataDir: string;
  beforeAll(() => assertBuilt(SERVER_MAIN));
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-e2e-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on the embedded defaults, reports live and ready, and drains on SIGTERM', async () => {
    const s = await startServerProcess({ LOG_LEVEL: 'info', LEDGERLINE_DATA_DIR: dataDir });
    expect(s.output()).toContain('embedded PGlite');

    const live = await fetch(`${s.url}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${s.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    expect(await s.stop()).toBe(0);
    const lines = s.output().trim().split('\n');
    // Every line the server printed is structured JSON.
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(s.output()).toContain('shut down cleanly');
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);
  });

  it('exits with 69 and names the database when PostgreSQL is down at start-up', async () => {
    const s = launchServerProcess({
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://ledger:pw-secret@127.0.0.1:1/ledger',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    expect(await s.exited).toBe(69);
    expect(s.output()).toContain('127.0.0.1:1/ledger');
    expect(s.output()).not.toContain('pw-secret');
  });

  it('exits with 78 naming the bad variable when the configuration is wrong', async () => {
    const s = launchServerProcess({
      LOG_LEVEL: 'info',
      LEDGERLINE_PORT: 'eighty',
      LEDGERLINE_DATA_DIR: dataDir,
    });
    expect(await s.exited).toBe(78);
    expect(s.output()).toContain('LEDGERLINE_PORT');
  });

  (TEST_DATABASE_URL ? it : it.skip)(
    'starts against PostgreSQL when DATABASE_URL is set [needs TEST_DATABASE_URL]',
    async () => {
      const s = await startServerProcess({
        LOG_LEVEL: 'info',
        DATABASE_URL: TEST_DATABASE_URL!,
        LEDGERLINE_DATA_DIR: dataDir,
      });
      expect(s.output()).toContain('events in PostgreSQL');
      expect((await fetch(`${s.url}/health/ready`)).status).toBe(200);
      expect(await s.stop()).toBe(0);
    },
  );
});
