import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@ledgerline/kernel';
import { LEDGER, keyStreamId, type Ledger, type OpenedEvent } from '@ledgerline/ledger';
import { runCli, E2E_TEST_TIMEOUT_MS, STARTUP_TIMEOUT_MS } from '@ledgerline/testing';
import { withCliContext } from './cli-context';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

const CANARY = 'CANARY-cli-Jane-Roe-MRN-0042';
const REASON = 'CANARY-reason-court-order-Roe';

/** The built CLI, run as an operator would, on the embedded database in `dataDir`. */
const cli = runCli;

describe('ledgerline keys (the built CLI on the embedded defaults)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const tenant = 'clinic-a';
  const streams = ['note:clinic-a:1', 'note:clinic-a:2'];

  const withLedger = <T>(fn: (ledger: Ledger) => Promise<T>) =>
    withCliContext(loadConfig(env), (app) => fn(app.get<Ledger>(LEDGER)));
  const texts = (events: OpenedEvent[]) =>
    events.map((e) => (e.body.status === 'available' ? e.body.payload.toString() : e.body.status));

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-cli-'));
    env = {
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
    };
    // A fresh deployment: the schema first, as an operator (or a server's start) does.
    expect(cli(env, 'migrate').code).toBe(0);
    await withLedger(async (ledger) => {
      for (const stream of streams) {
        await ledger.append(
          tenant,
          stream,
          [
            {
              eventId: randomUUID(),
              type: 'NoteWritten',
              schemaVersion: 1,
              metadata: { actor: { id: 'u1', kind: 'user' } },
              payload: Buffer.from(CANARY),
            },
          ],
          'no_stream',
        );
      }
    });
  }, STARTUP_TIMEOUT_MS);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('status shows the KEK version and what it wraps', () => {
    const r = cli(env, 'keys', 'status');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tenant clinic-a: KEK \S+ current version 1/);
    expect(r.out).toMatch(/data keys: 2 active, 0 retired, 0 shredded, 0 without any wrap/);
    expect(r.out).toMatch(/wrapped under \S+ version 1: 2/);
  });

  it('rotate re-wraps under a new version, and every event still opens', async () => {
    const r = cli(env, 'keys', 'rotate', '--tenant', tenant);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /rotated tenant clinic-a to KEK \S+ version 2: 2 key\(s\) re-wrapped, 2 old wrap\(s\) removed/,
    );
    // Two note keys, the key stream's own (the sealed KekRotated event) and the audit stream's
    // (the rotation's access record).
    expect(cli(env, 'keys', 'status').out).toMatch(/wrapped under \S+ version 2: 4/);
    await withLedger(async (ledger) => {
      for (const stream of streams)
        expect(texts(await ledger.readStream(stream))).toEqual([CANARY]);
    });
  });

  it('shred needs --confirm, is refused under a legal hold, and then makes the payload unreadable', async () => {
    const unconfirmed = cli(
      env,
      'keys',
      'shred',
      '--tenant',
      tenant,
      '--stream',
      streams[0]!,
      '--reason',
      REASON,
    );
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.err).toContain('--confirm');

    const held = cli(
      env,
      'keys',
      'hold',
      'add',
      '--tenant',
      tenant,
      '--stream',
      streams[0]!,
      '--reason',
      `${REASON}-hold`,
    );
    expect(held.code).toBe(0);
    expect(held.all).not.toContain('CANARY');
    const holdId = /legal hold (\S+) added/.exec(held.out)![1]!;
    const refused = cli(
      env,
      'keys',
      'shred',
      '--tenant',
      tenant,
      '--stream',
      streams[0]!,
      '--reason',
      REASON,
      '--confirm',
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('legal_hold');
    await withLedger(async (ledger) =>
      expect(texts(await ledger.readStream(streams[0]!))).toEqual([CANARY]),
    );

    // A release names the tenant and gives a reason.
    expect(cli(env, 'keys', 'hold', 'release', holdId, '--tenant', tenant).code).toBe(64);
    const elsewhere = cli(
      env,
      'keys',
      'hold',
      'release',
      holdId,
      '--tenant',
      'clinic-b',
      '--reason',
      'x',
    );
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.err).toContain('legal_hold_not_found');
    const release = cli(
      env,
      'keys',
      'hold',
      'release',
      holdId,
      '--tenant',
      tenant,
      '--reason',
      `${REASON}-release`,
    );
    expect(release.code).toBe(0);
    expect(release.all).not.toContain('CANARY');
    const shred = cli(
      env,
      'keys',
      'shred',
      '--tenant',
      tenant,
      '--stream',
      streams[0]!,
      '--reason',
      REASON,
      '--confirm',
    );
    expect(shred.code).toBe(0);
    expect(shred.out).toMatch(/shredded 1 data key\(s\) of stream note:clinic-a:1/);

    await withLedger(async (ledger) => {
      expect(texts(await ledger.readStream(streams[0]!))).toEqual(['shredded']);
      expect(texts(await ledger.readStream(streams[1]!))).toEqual([CANARY]);
      const keyEvents = await ledger.readStream(keyStreamId(tenant));
      expect(keyEvents.map((e) => e.type)).toEqual([
        'KekRotated',
        'LegalHoldPlaced',
        'ShredRefused',
        'LegalHoldReleased',
        'DataKeysShredded',
      ]);
      expect(texts(keyEvents)[1]).toContain(`${REASON}-hold`);
      expect(texts(keyEvents)[3]).toContain(`${REASON}-release`);
      expect(texts(keyEvents)[4]).toContain(REASON);
    });
    expect(cli(env, 'keys', 'status').out).toMatch(/3 active, 0 retired, 1 shredded/);
  });

  it('never prints a payload or a reason, and refuses to open a database another process holds', async () => {
    for (const r of [
      cli(env, 'keys', 'status'),
      cli(env, 'keys', 'hold', 'list', '--tenant', tenant),
    ]) {
      expect(r.all).not.toContain('CANARY');
    }
    await withLedger(async () => {
      const busy = cli(env, 'keys', 'status');
      expect(busy.code).toBe(1);
      expect(busy.err).toContain('database_in_use');
    });
  });

  it('names the bad variable when the configuration is wrong', () => {
    const r = cli({ ...env, LEDGERLINE_DEK_MAX_EVENTS: 'lots' }, 'keys', 'status');
    expect(r.code).toBe(78);
    expect(r.err).toContain('LEDGERLINE_DEK_MAX_EVENTS');
  });

  it('apikeys: create shows the key once, list shows it hashed away, revoke refuses it from then on', () => {
    const created = cli(env, 'apikeys', 'create', '--tenant', tenant, '--name', 'ehr-backend');
    expect(created.code).toBe(0);
    const [, id] = /api key (\S+) for tenant clinic-a/.exec(created.out)!;
    const key = created.out.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^llk_/);
    const listed = cli(env, 'apikeys', 'list', '--tenant', tenant);
    expect(listed.out).toContain(`${id}  ehr-backend  roles service  active`);
    expect(listed.out).not.toContain(key);
    expect(cli(env, 'apikeys', 'revoke', id!).out).toContain(`api key ${id} revoked`);
    expect(cli(env, 'apikeys', 'list', '--tenant', tenant).out).toMatch(/revoked \d{4}-/);
    const badRole = cli(
      env,
      'apikeys',
      'create',
      '--tenant',
      tenant,
      '--name',
      'x',
      '--roles',
      'root',
    );
    expect(badRole.code).toBe(1);
  });

  it('projections rebuild replays the log into every read model', () => {
    const r = cli(env, 'projections', 'rebuild');
    expect(r.code).toBe(0);
    for (const name of [
      'conversation-list',
      'message-history',
      'message-edits',
      'reactions',
      'receipts',
    ]) {
      expect(r.out).toMatch(new RegExp(`rebuilt ${name} \\(generation \\d+\\)`));
    }
    expect(cli(env, 'projections', 'rebuild', 'no-such-projection').code).toBe(1);
  });
});

describe('ledgerline migrate (the schema is changed at start or by this command, never behind it)', () => {
  let dataDir: string;
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses other commands on a database without the schema, then applies it once', () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-migrate-'));
    const env = {
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
    };
    const before = cli(env, 'keys', 'status');
    expect(before.code).not.toBe(0);
    expect(before.err).toMatch(/schema_behind: .*run `ledgerline migrate`/);

    const first = cli(env, 'migrate');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/applied event-store\/1-/);
    expect(first.out).toMatch(/applied audit-checkpoints\/1-/);
    const again = cli(env, 'migrate');
    expect(again.out.trim()).toBe('the schema is up to date');
    expect(cli(env, 'keys', 'status').code).toBe(0);
  });
});
