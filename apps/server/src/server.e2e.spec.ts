import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TEST_DATABASE_URL } from '@ledgerline/testing';

// Boots the compiled server (`npm test` builds first) as its own process, the way `npm start` does,
// and talks to it over HTTP.
const MAIN = resolve(__dirname, '../../../dist/apps/server/src/main.js');

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

function launch(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', LEDGERLINE_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, url: '', output: () => out, exited };
}

async function started(s: Started): Promise<string> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const m = /"url":"(http:\/\/[^"]+)"/.exec(s.output());
    if (m) return m[1]!;
    if (s.child.exitCode !== null) throw new Error(`server exited early:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not start:\n${s.output()}`);
}

describe('ledgerline server process', () => {
  let dataDir: string;
  beforeAll(() => {
    if (!existsSync(MAIN))
      throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does it first)`);
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-e2e-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on the embedded defaults, reports live and ready, and drains on SIGTERM', async () => {
    const s = launch({ LEDGERLINE_DATA_DIR: dataDir });
    const url = await started(s);
    expect(s.output()).toContain('embedded PGlite');

    const live = await fetch(`${url}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const lines = s.output().trim().split('\n');
    // Every line the server printed is structured JSON.
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(s.output()).toContain('shut down cleanly');
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);
  });

  it('exits with 69 and names the database when PostgreSQL is down at start-up', async () => {
    const s = launch({
      DATABASE_URL: 'postgres://ledger:pw-secret@127.0.0.1:1/ledger',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    expect(await s.exited).toBe(69);
    expect(s.output()).toContain('127.0.0.1:1/ledger');
    expect(s.output()).not.toContain('pw-secret');
  });

  it('exits with 78 naming the bad variable when the configuration is wrong', async () => {
    const s = launch({ LEDGERLINE_PORT: 'eighty', LEDGERLINE_DATA_DIR: dataDir });
    expect(await s.exited).toBe(78);
    expect(s.output()).toContain('LEDGERLINE_PORT');
  });

  (TEST_DATABASE_URL ? it : it.skip)(
    'starts against PostgreSQL when DATABASE_URL is set [needs TEST_DATABASE_URL]',
    async () => {
      const s = launch({ DATABASE_URL: TEST_DATABASE_URL!, LEDGERLINE_DATA_DIR: dataDir });
      const url = await started(s);
      expect(s.output()).toContain('events in PostgreSQL');
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    },
  );
});
