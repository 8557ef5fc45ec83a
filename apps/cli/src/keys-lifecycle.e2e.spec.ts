import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { auditStreamId, parseAccessRecorded, type AccessRecordedV1 } from '@ledgerline/audit';
import { KmsLocalEndpoint } from '@ledgerline/crypto';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { loadConfig } from '@ledgerline/kernel';
import { LEDGER, keyStreamId, type Ledger, type OpenedEvent } from '@ledgerline/ledger';
import { CLI_MAIN } from '@ledgerline/testing';
import { withCliContext } from './cli-context';

// The built CLI, run as an operator runs it, on the embedded defaults (PGlite, local key ring)
// and on AWS KMS (the repository's local KMS endpoint): legal holds that leave a trace, what a
// shred leaves behind, and the current KEK as the database records it.

const CANARY = `CANARY-${randomUUID()}`;
const TENANT = 'clinic-keys';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the CLI without blocking this process (the KMS endpoint answers from here). */
function cli(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 90_000 },
      (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}

const payloadOf = (e: OpenedEvent): unknown =>
  e.body.status === 'available' ? JSON.parse(e.body.payload.toString('utf8')) : e.body.status;

async function append(env: Record<string, string>, streamId: string): Promise<void> {
  await withCliContext(loadConfig(env), (app) =>
    app.get<Ledger>(LEDGER).append(
      TENANT,
      streamId,
      [
        {
          eventId: randomUUID(),
          type: 'NoteWritten',
          schemaVersion: 1,
          metadata: { actor: { id: 'u1', kind: 'user' } },
          payload: Buffer.from(CANARY),
        },
      ],
      'any',
    ),
  );
}

describe('keys: legal holds, shredding and KEK rotation (the built CLI, embedded defaults)', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'll-keys-lifecycle-'));
    env = {
      LEDGERLINE_DATA_DIR: dir,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
    };
    // A fresh deployment: the schema first, as an operator (or a server's start) does.
    expect((await cli(env, 'migrate')).code).toBe(0);
    await append(env, `note:${TENANT}:held`);
    await append(env, `note:${TENANT}:kept`);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const inApp = <T>(fn: (ledger: Ledger, sql: SqlClient) => Promise<T>) =>
    withCliContext(loadConfig(env), (app) => fn(app.get<Ledger>(LEDGER), app.get(SQL_CLIENT)));
  const accessRecords = () =>
    inApp(async (ledger) =>
      (await ledger.readStream(auditStreamId(TENANT))).map((e) =>
        parseAccessRecorded((e.body as { payload: Buffer }).payload)!,
      ),
    );

  it('holds: placing, releasing (tenant and reason required) and a refused shred are sealed events and access records; the row keeps no reason; a shred prints what it leaves behind', async () => {
    const stream = `note:${TENANT}:held`;
    // A hold an earlier version stored with its reason in clear.
    const legacyId = randomUUID();
    await inApp((_, sql) =>
      sql.query(
        `insert into ll_legal_holds (hold_id, tenant_id, stream_id, reason) values ($1, $2, $3, $4)`,
        [legacyId, TENANT, `note:${TENANT}:legacy`, `${CANARY} legacy case`],
      ),
    );

    const added = await cli(
      env,
      ...['keys', 'hold', 'add', '--tenant', TENANT, '--stream', stream],
      ...['--reason', `${CANARY} subpoena Roe`],
    );
    expect(added).toMatchObject({ code: 0 });
    expect(added.out + added.err).not.toContain('CANARY');
    const holdId = /legal hold (\S+) added/.exec(added.out)![1]!;

    const shredArgs = ['keys', 'shred', '--tenant', TENANT, '--stream', stream];
    const refused = await cli(env, ...shredArgs, '--reason', 'retention ended', '--confirm');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('legal_hold');

    const noReason = await cli(env, 'keys', 'hold', 'release', holdId, '--tenant', TENANT);
    expect(noReason.code).toBe(64); // a usage error: nothing released
    expect(noReason.err).toContain('--reason');
    const released = await cli(
      env,
      ...['keys', 'hold', 'release', holdId, '--tenant', TENANT],
      ...['--reason', `${CANARY} case closed`],
    );
    expect(released).toMatchObject({ code: 0 });

    const shred = await cli(env, ...shredArgs, '--reason', 'retention ended', '--confirm');
    expect(shred).toMatchObject({ code: 0 });
    expect(shred.out).toContain('what this shred leaves behind');
    for (const residue of [
      'VACUUM',
      'WAL',
      'backups',
      'replicas',
      'LEDGERLINE_DEK_CACHE_MAX_AGE_MS',
    ])
      expect(shred.out).toContain(residue);

    const keyEvents = await inApp((ledger) => ledger.readStream(keyStreamId(TENANT)));
    expect(keyEvents.map((e) => [e.type, payloadOf(e)])).toEqual([
      [
        'LegalHoldPlaced',
        {
          holdId: legacyId,
          streamId: `note:${TENANT}:legacy`,
          streamPrefix: null,
          reason: `${CANARY} legacy case`,
          legacy: true,
        },
      ],
      [
        'LegalHoldPlaced',
        { holdId, streamId: stream, streamPrefix: null, reason: `${CANARY} subpoena Roe` },
      ],
      [
        'ShredRefused',
        { streamId: stream, epoch: null, holdIds: [holdId], reason: 'retention ended' },
      ],
      ['LegalHoldReleased', { holdId, reason: `${CANARY} case closed` }],
      ['DataKeysShredded', expect.objectContaining({ streamId: stream }) as unknown],
    ]);

    const rows = await inApp((_, sql) =>
      sql.query<{ reasons: number; holds: number }>(
        `select count(reason)::int as reasons, count(*)::int as holds from ll_legal_holds`,
      ),
    );
    expect(rows[0]).toEqual({ reasons: 0, holds: 2 });
    await expect(
      inApp((_, sql) => sql.query('delete from ll_legal_holds where hold_id = $1', [holdId])),
    ).rejects.toMatchObject({ sqlState: 'LL409' });

    const records = (await accessRecords()).filter((r) => r.action.startsWith('keys.'));
    const summary = (r: AccessRecordedV1) => [r.action, r.outcome, r.reason ?? null];
    expect(records.map(summary)).toEqual([
      ['keys.hold.placed', 'allowed', null],
      ['keys.shredded', 'denied', 'legal_hold'],
      ['keys.hold.released', 'allowed', null],
      ['keys.shredded', 'allowed', null],
    ]);
    expect(records[0]!.targetIds).toEqual(expect.arrayContaining([holdId, keyEvents[1]!.eventId]));
    expect(records[1]!.targetIds).toEqual(
      expect.arrayContaining([stream, holdId, keyEvents[2]!.eventId]),
    );
    expect(records[2]!.targetIds).toEqual([holdId, keyEvents[3]!.eventId]);
    expect(JSON.stringify(records)).not.toContain('CANARY');
  }, 300_000);

  it('rotation: the first rotate says rotated, status reports the recorded KEK, and an old ring version retires only once nothing is wrapped under it', async () => {
    const before = await cli(env, 'keys', 'status', '--tenant', TENANT);
    expect(before.out).toMatch(
      new RegExp(`tenant ${TENANT}: KEK \\S+ current version 1 \\(recorded \\S+ by first-use\\)`),
    );
    const inUse = await cli(env, 'keys', 'retire-kek', '--tenant', TENANT, '--kek-version', '1');
    expect(inUse.code).toBe(1);
    expect(inUse.err).toContain('kek_version_in_use');

    const rotated = await cli(env, 'keys', 'rotate', '--tenant', TENANT);
    expect(rotated).toMatchObject({ code: 0 });
    expect(rotated.out).toMatch(
      new RegExp(`^rotated tenant ${TENANT} to KEK \\S+ version 2:`, 'm'),
    );
    expect(rotated.out).not.toContain('interrupted');
    const status = await cli(env, 'keys', 'status', '--tenant', TENANT);
    expect(status.out).toMatch(/current version 2 \(recorded \S+ by operator:/);
    expect(status.out).toContain('key ring holds versions 1, 2');
    expect(status.out).not.toMatch(/wrapped under \S+ version 1:/);

    const retired = await cli(env, 'keys', 'retire-kek', '--tenant', TENANT, '--kek-version', '1');
    expect(retired).toMatchObject({ code: 0 });
    expect(retired.out).toMatch(/retired KEK \S+ version 1 of tenant/);
    expect((await cli(env, 'keys', 'status', '--tenant', TENANT)).out).toContain(
      'key ring holds versions 2\n',
    );
    const current = await cli(env, 'keys', 'retire-kek', '--tenant', TENANT, '--kek-version', '2');
    expect(current.code).toBe(1);
    expect(current.err).toContain('kek_version_in_use');

    // What was not shredded still opens; the retirement is an event and an access record.
    const [kept] = await inApp((ledger) => ledger.readStream(`note:${TENANT}:kept`));
    expect(kept!.body.status === 'available' && kept!.body.payload.toString()).toBe(CANARY);
    const keyEvents = await inApp((ledger) => ledger.readStream(keyStreamId(TENANT)));
    expect(keyEvents.at(-1)).toMatchObject({ type: 'KekVersionRetired' });
    expect((await accessRecords()).filter((r) => r.action === 'keys.kek.retired')).toHaveLength(1);
  }, 300_000);
});

describe('keys on AWS KMS (the built CLI, the local KMS endpoint)', () => {
  let kms: KmsLocalEndpoint;
  let dir: string;
  let base: Record<string, string>;
  let oldArn: string;
  let newArn: string;
  const saved: Record<string, string | undefined> = {};
  const withKey = (arn: string) => ({ ...base, LEDGERLINE_KMS_KEYS: `${TENANT}=${arn}` });

  beforeAll(async () => {
    kms = await KmsLocalEndpoint.start();
    oldArn = kms.createKey().arn;
    newArn = kms.createKey().arn;
    dir = mkdtempSync(join(tmpdir(), 'll-keys-kms-'));
    base = {
      LEDGERLINE_DATA_DIR: dir,
      LEDGERLINE_KEY_PROVIDER: 'aws-kms',
      AWS_REGION: kms.region,
      LEDGERLINE_KMS_ENDPOINT: kms.url,
      AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
      LEDGERLINE_KMS_MAX_ATTEMPTS: '2',
      LOG_LEVEL: 'warn',
    };
    // The in-process seeding's SDK reads its credentials from this process's environment.
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      saved[name] = process.env[name];
      process.env[name] = base[name];
    }
    expect((await cli(withKey(oldArn), 'migrate')).code).toBe(0);
    await append(withKey(oldArn), `note:${TENANT}:first`);
  }, 120_000);
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await kms?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after a rotate with a new key, a process still configured with the old key wraps under the new one; status prints each ARN once, current from the database', async () => {
    const before = await cli(withKey(oldArn), 'keys', 'status', '--tenant', TENANT);
    expect(before).toMatchObject({ code: 0 });
    expect(before.out).toContain(`tenant ${TENANT}: KEK ${oldArn} current (recorded`);
    for (const line of before.out.split('\n')) {
      expect(line.split(oldArn).length - 1).toBeLessThanOrEqual(1);
    }
    expect(before.out).toMatch(new RegExp(`wrapped under ${oldArn}: \\d+\\n`));

    const rotated = await cli(withKey(newArn), 'keys', 'rotate', '--tenant', TENANT);
    expect(rotated).toMatchObject({ code: 0 });
    expect(rotated.out).toContain(`rotated tenant ${TENANT} to KEK ${newArn}:`);
    expect(rotated.out).not.toContain('interrupted');

    // A node nobody reconfigured: its new data keys go under the key the database records.
    await append(withKey(oldArn), `note:${TENANT}:second`);
    const after = await cli(withKey(oldArn), 'keys', 'status', '--tenant', TENANT);
    expect(after.out).toContain(`tenant ${TENANT}: KEK ${newArn} current (recorded`);
    expect(after.out).toContain(
      `this process's configuration names ${oldArn}; every node follows the database`,
    );
    expect(after.out).not.toContain(`wrapped under ${oldArn}`);
    expect(after.out).toMatch(new RegExp(`wrapped under ${newArn}: \\d+\\n`));

    const again = await cli(withKey(newArn), 'keys', 'rotate', '--tenant', TENANT);
    expect(again.out).toContain(`tenant ${TENANT} is already on KEK ${newArn}`);
    const retire = await cli(
      withKey(newArn),
      ...['keys', 'retire-kek', '--tenant', TENANT, '--kek-version', oldArn],
    );
    expect(retire.code).toBe(1);
    expect(retire.err).toContain('kek_retirement_unsupported');
  }, 300_000);
});
