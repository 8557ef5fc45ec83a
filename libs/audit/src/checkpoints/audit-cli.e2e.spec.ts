import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, E2E_TEST_TIMEOUT_MS } from '@ledgerline/testing';
import { BUNDLE_FILES, OPENSSL_VERIFY_COMMANDS } from './bundle-files';
import type { AuditBundle } from './audit-bundle';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// The built CLI (`npm test` builds first), as an operator and an auditor would run it. Events come
// from `keys rotate`, which appends a sealed KekRotated event to the tenant's key stream and its
// access record to the tenant's audit stream: two events per rotation. An export appends its own
// access record after the bundle is made.
const cli = runCli;

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('ledgerline audit (the built CLI on the embedded defaults)', () => {
  let root: string;
  let env: Record<string, string>;
  const dir = (name: string) => join(root, name);

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ledgerline-audit-cli-'));
    env = {
      LEDGERLINE_DATA_DIR: dir('data'),
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
    };
    // A fresh deployment: the schema first, as an operator (or a server's start) does.
    expect(cli(env, 'migrate').code).toBe(0);
    for (const tenant of ['clinic-a', 'clinic-b', 'clinic-a']) {
      expect(cli(env, 'keys', 'rotate', '--tenant', tenant).code).toBe(0);
    }
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('checkpoints, exports and verifies; openssl checks the head; a changed record fails', () => {
    const first = cli(env, 'audit', 'checkpoint');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/signed tree head: size 6 \(\+6\), root [0-9a-f]{64}/);
    expect(cli(env, 'audit', 'checkpoint').out).toMatch(/no new events: the tree stays at size 6/);
    expect(cli(env, 'keys', 'rotate', '--tenant', 'clinic-a').code).toBe(0);
    expect(cli(env, 'audit', 'checkpoint').out).toMatch(/size 8 \(\+2\)/);

    const exported = cli(env, 'audit', 'export', '--tenant', 'clinic-a', '--out', dir('out'));
    expect(exported.code).toBe(0);
    expect(exported.out).toMatch(/exported 6 record\(s\) of tenant clinic-a/);
    for (const file of Object.values(BUNDLE_FILES))
      expect(existsSync(join(dir('out'), file))).toBe(true);

    const verified = cli(
      env,
      'audit',
      'verify',
      dir('out'),
      '--trust',
      join(dir('data'), 'audit-signing', 'cert.pem'),
      '--save-head',
      dir('kept-head.json'),
    );
    expect(verified.err).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('verification OK');
    expect(verified.out).not.toContain('not pinned');

    if (hasOpenssl) {
      for (const command of OPENSSL_VERIFY_COMMANDS) {
        const r = spawnSync('sh', ['-c', command], { cwd: dir('out'), encoding: 'utf8' });
        expect(r.stderr).toBe('');
        if (command.includes('dgst')) expect(r.stdout.trim()).toBe('Verified OK');
      }
    }

    const bundle = JSON.parse(
      readFileSync(join(dir('out'), BUNDLE_FILES.bundle), 'utf8'),
    ) as AuditBundle;
    bundle.records[1]!.streamId = 'keys:clinic-b';
    writeFileSync(dir('changed.json'), JSON.stringify(bundle));
    const changed = cli(env, 'audit', 'verify', dir('changed.json'));
    expect(changed.code).toBe(1);
    expect(changed.out).toContain(
      `FAIL inclusion record 1 (event ${bundle.records[1]!.eventId}, leaf ${bundle.records[1]!.leafIndex})`,
    );
    expect(changed.out).toContain('certificate not pinned');
    expect(changed.err).toContain('verification_failed');

    writeFileSync(dir('truncated.json'), JSON.stringify(bundle).slice(0, 500));
    const truncated = cli(env, 'audit', 'verify', dir('truncated.json'));
    expect(truncated.code).toBe(1);
    expect(truncated.out).toMatch(/FAIL format .*truncated.json: not valid JSON/);
  }, 120_000);

  it('verify-log passes on the intact log; an older bundle fails against a newer known head', () => {
    const log = cli(env, 'audit', 'verify-log', '--known-head', dir('kept-head.json'));
    expect(log.code).toBe(0);
    expect(log.out).toMatch(/2 signed head\(s\) checked/);

    expect(cli(env, 'keys', 'rotate', '--tenant', 'clinic-b').code).toBe(0);
    expect(cli(env, 'audit', 'checkpoint').code).toBe(0);
    expect(
      cli(
        env,
        'audit',
        'export',
        '--tenant',
        'clinic-b',
        '--out',
        dir('later'),
        '--known-head',
        dir('kept-head.json'),
      ).code,
    ).toBe(0);
    const later = cli(env, 'audit', 'verify', dir('later'), '--known-head', dir('kept-head.json'));
    expect(later.code).toBe(0);

    // The auditor now holds the size-11 head; the operator hands over the old size-8 bundle.
    const rollback = cli(
      env,
      'audit',
      'verify',
      dir('out'),
      '--known-head',
      join(dir('later'), BUNDLE_FILES.head),
    );
    expect(rollback.code).toBe(1);
    expect(rollback.out).toMatch(/FAIL known-head known head \(size 11, .*rollback/);
  }, 120_000);

  it('audit rebuild replays the access events into the audit log, with progress; verify-log then checks every row', () => {
    const rebuilt = cli(env, 'audit', 'rebuild');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toContain('replaying the audit log from the first access event');
    const added =
      /audit log replayed \(generation \d+\): (\d+) access event\(s\) read, (\d+) missing row\(s\) added/.exec(
        rebuilt.out,
      );
    expect(added).not.toBeNull();
    expect(Number(added![2])).toBeGreaterThan(0);
    expect(added![2]).toBe(added![1]);

    const again = cli(env, 'audit', 'rebuild');
    expect(again.out).toMatch(/, 0 missing row\(s\) added/);

    const log = cli(env, 'audit', 'verify-log');
    expect(log.code).toBe(0);
    expect(log.out).toMatch(
      /note: (\d+) audit log row\(s\) checked against their sealed access events/,
    );
    expect(Number(/note: (\d+) audit log row/.exec(log.out)![1])).toBeGreaterThanOrEqual(
      Number(added![2]),
    );
  }, 120_000);
});
