import { randomBytes } from 'node:crypto';
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

  // Issue 10, item 17: a missing JWT setting failed inside Nest (exit 1, a stack trace).
  it('exits with 78 and one JSON line when production lacks a JWT setting or has an http JWKS URL', async () => {
    const production = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
    };
    const missing = launchServerProcess({
      ...production,
      LEDGERLINE_JWT_ISSUER: 'https://idp.example.test/',
      LEDGERLINE_JWT_JWKS_URL: 'https://idp.example.test/jwks.json',
    });
    expect(await missing.exited).toBe(78);
    const plain = launchServerProcess({
      ...production,
      LEDGERLINE_JWT_ISSUER: 'https://idp.example.test/',
      LEDGERLINE_JWT_AUDIENCE: 'ledgerline',
      LEDGERLINE_JWT_JWKS_URL: 'http://idp.example.test/jwks.json',
    });
    expect(await plain.exited).toBe(78);
    for (const [run, variable, problem] of [
      [missing, 'LEDGERLINE_JWT_AUDIENCE', 'required'],
      [plain, 'LEDGERLINE_JWT_JWKS_URL', 'must be https'],
    ] as const) {
      const lines = run.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0]!) as { level: number; msg: string };
      expect(line.level).toBe(60);
      expect(line.msg).toContain(variable);
      expect(line.msg).toContain(problem);
      expect(run.output()).not.toMatch(/\n\s+at /);
    }
  });

  // Issue 10, item 21: the lock of a killed server blocked a restart for 30 s.
  it('restarts at once on the data directory of a server killed with SIGKILL', async () => {
    const env = { LOG_LEVEL: 'info', LEDGERLINE_DATA_DIR: dataDir };
    const first = await startServerProcess(env);
    expect(await first.stop('SIGKILL')).toBeNull();
    const second = await startServerProcess(env);
    expect((await fetch(`${second.url}/health/ready`)).status).toBe(200);
    // A live holder still keeps everyone else out.
    const third = launchServerProcess(env);
    expect(await third.exited).not.toBe(0);
    expect(third.output()).toContain('in use by another Ledgerline process');
    expect(await second.stop()).toBe(0);
  });

  // Issue 10, item 22: a bad body was logged as an error with its stack; Express announced itself.
  it('logs a client error without a stack at debug level, and sends no x-powered-by', async () => {
    const s = await startServerProcess({ LOG_LEVEL: 'debug', LEDGERLINE_DATA_DIR: dataDir });
    const response = await fetch(`${s.url}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId: 'clinic-1' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(await response.json()).toMatchObject({ statusCode: 400, code: 'invalid_input' });
    expect((await fetch(`${s.url}/health/live`)).headers.get('x-powered-by')).toBeNull();
    expect(await s.stop()).toBe(0);
    const lines = s
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg?: string; err?: unknown });
    const refused = lines.filter((l) => l.msg === 'request refused: client error');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.level).toBe(20);
    expect(s.output()).not.toContain('InvalidArgumentsError: ');
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
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
