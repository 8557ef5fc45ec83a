import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ValidationError } from '@ledgerline/kernel';
import { CONTRACT_TENANTS, keyProviderContract } from '../contract/key-provider.contract';
import { KekNotFoundError, KeyProviderError, KeyRingOpenError } from '../crypto.errors';
import { LocalKeyRing, type LocalKeyRingOptions } from './local-key-ring.adapter';

// Cheap scrypt for tests that open many rings; one test below opens with the default cost.
const FAST = { N: 2 ** 10, r: 8, p: 1 };
const secret = () => randomBytes(32).toString('base64');
const ctx = { tenantId: 'tenant-a', streamId: 'conversation-1' };

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'll-keyring-'));
}

async function openRing(
  options: Partial<LocalKeyRingOptions> & { file: string; masterSecret: string },
) {
  return LocalKeyRing.open({
    createIfMissing: true,
    scrypt: FAST,
    refreshIntervalMs: 0,
    ...options,
  });
}

keyProviderContract(
  'local key ring',
  async () => {
    const dir = await tempDir();
    const { ring } = await openRing({ file: join(dir, 'keyring.json'), masterSecret: secret() });
    return {
      provider: ring,
      rotate: async (tenantId) => {
        await ring.rotateKek(tenantId);
      },
      unknownKekId: randomUUID(),
      tenantWithoutKek: 'tenant-without-kek',
      async teardown() {
        await ring.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { rotates: true },
);

describe('LocalKeyRing file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await tempDir();
    file = join(dir, 'nested', 'keyring.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the ring on first open, mode 0600, with nothing readable in it', async () => {
    const master = secret();
    const { ring, created, warnings } = await LocalKeyRing.open({
      file,
      masterSecret: master,
      createIfMissing: true,
    });
    expect(created).toBe(true);
    expect(warnings).toEqual([]);
    const key = await ring.generateDataKey(ctx);
    await ring.close();

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    const header = JSON.parse(text) as { format: string; kdf: { name: string; salt: string } };
    expect(header.format).toBe('ledgerline-keyring');
    expect(header.kdf.name).toBe('scrypt');
    expect(header.kdf.salt.length).toBeGreaterThan(0);
    expect(text).not.toContain('tenant-a');
    expect(text).not.toContain(master);
    expect(text).not.toContain(key.plaintext.toString('base64'));
    expect(await readdir(join(dir, 'nested'))).toEqual(['keyring.json']);
  });

  it('reopens with the same master secret and unwraps what the previous instance wrapped', async () => {
    const master = secret();
    const first = await openRing({ file, masterSecret: master });
    const key = await first.ring.generateDataKey(ctx);
    await first.ring.rotateKek('tenant-a');
    const second = await first.ring.generateDataKey(ctx);
    await first.ring.close();

    const again = await openRing({ file, masterSecret: master });
    expect(again.created).toBe(false);
    expect((await again.ring.unwrap(key.wrapped, ctx)).equals(key.plaintext)).toBe(true);
    expect((await again.ring.unwrap(second.wrapped, ctx)).equals(second.plaintext)).toBe(true);
    expect(await again.ring.describeKek('tenant-a')).toMatchObject({
      currentVersion: '2',
      versions: ['1', '2'],
    });
    await again.ring.close();
  });

  it('refuses a wrong master secret clearly, without writing anything', async () => {
    const { ring } = await openRing({ file, masterSecret: secret() });
    await ring.generateDataKey(ctx);
    await ring.close();
    const before = await readFile(file);
    const beforeStat = await stat(file);

    const wrong = secret();
    const error = await LocalKeyRing.open({
      file,
      masterSecret: wrong,
      createIfMissing: true,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyRingOpenError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/master secret is not the one/);
    expect((error as Error).message).not.toContain(wrong);

    expect(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    ).toBe(createHash('sha256').update(before).digest('hex'));
    expect((await stat(file)).mtimeMs).toBe(beforeStat.mtimeMs);
    expect((await readdir(join(dir, 'nested'))).sort()).toEqual(['keyring.json']);
  });

  it('tells a corrupted file and a foreign file apart from a wrong secret', async () => {
    const master = secret();
    const { ring } = await openRing({ file, masterSecret: master });
    await ring.rotateKek('tenant-a');
    await ring.close();
    const json = JSON.parse(await readFile(file, 'utf8')) as { ciphertext: string };
    const bytes = Buffer.from(json.ciphertext, 'base64');
    bytes[3] = bytes[3]! ^ 1;
    await writeFile(file, JSON.stringify({ ...json, ciphertext: bytes.toString('base64') }));
    await expect(openRing({ file, masterSecret: master })).rejects.toThrow(/corrupted/);

    await writeFile(file, '{"hello":"world"}');
    await expect(openRing({ file, masterSecret: master })).rejects.toThrow(
      /not a Ledgerline key ring/,
    );
    await writeFile(file, 'not json');
    await expect(openRing({ file, masterSecret: master })).rejects.toBeInstanceOf(KeyRingOpenError);
  });

  it('does not create a missing ring unless asked', async () => {
    await expect(
      LocalKeyRing.open({ file, masterSecret: secret(), createIfMissing: false }),
    ).rejects.toThrow(/does not exist/);
    await expect(stat(file)).rejects.toThrow();
  });

  it('refuses a master secret too short to be one', async () => {
    await expect(openRing({ file, masterSecret: 'short' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('warns when the ring file is readable by other users', async () => {
    const master = secret();
    await (await openRing({ file, masterSecret: master })).ring.close();
    await chmod(file, 0o644);
    const { ring, warnings } = await openRing({ file, masterSecret: master });
    await ring.close();
    expect(warnings).toEqual([expect.stringContaining('chmod 600')]);
  });

  it('writes atomically: no temporary or lock file is left, mode stays 0600', async () => {
    const { ring } = await openRing({ file, masterSecret: secret() });
    await Promise.all(Array.from({ length: 5 }, () => ring.rotateKek('tenant-a')));
    expect((await ring.describeKek('tenant-a')).versions).toEqual(['1', '2', '3', '4', '5']);
    await ring.close();
    expect(await readdir(join(dir, 'nested'))).toEqual(['keyring.json']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('shares one file between processes: rotations from both are kept and seen by both', async () => {
    const master = secret();
    const server = (await openRing({ file, masterSecret: master })).ring;
    const cli = (await openRing({ file, masterSecret: master })).ring;
    const before = await server.generateDataKey(ctx);

    await Promise.all([
      server.rotateKek('tenant-a'),
      cli.rotateKek('tenant-a'),
      server.rotateKek('tenant-b'),
      cli.rotateKek('tenant-a'),
    ]);
    const seenByServer = await server.describeKek('tenant-a');
    expect(seenByServer.versions).toEqual(['1', '2', '3', '4']);
    expect(await cli.describeKek('tenant-a')).toEqual(seenByServer);

    // The CLI rewraps under the newest version; the server unwraps that right away.
    const rewrapped = await cli.rewrap(before.wrapped, ctx);
    expect(rewrapped.kekVersion).toBe('4');
    expect((await server.unwrap(rewrapped, ctx)).equals(before.plaintext)).toBe(true);
    await server.close();
    await cli.close();
  });

  it('notices a rotation by another process once the refresh interval has passed', async () => {
    const master = secret();
    const server = (await openRing({ file, masterSecret: master, refreshIntervalMs: 60_000 })).ring;
    const cli = (await openRing({ file, masterSecret: master })).ring;
    await server.generateDataKey(ctx);
    await cli.rotateKek('tenant-a');
    // Within the interval the server still makes keys under its known current version…
    expect((await server.generateDataKey(ctx)).wrapped.kekVersion).toBe('1');
    // …but a wrap under a version it has not seen makes it reload at once.
    const fromCli = await cli.generateDataKey(ctx);
    expect((await server.unwrap(fromCli.wrapped, ctx)).equals(fromCli.plaintext)).toBe(true);
    expect((await server.generateDataKey(ctx)).wrapped.kekVersion).toBe('2');
    await server.close();
    await cli.close();
  });

  it('takes over a lock left by a process that died mid-change', async () => {
    const { ring } = await openRing({ file, masterSecret: secret() });
    // A lock its holder stopped refreshing a minute ago: the holder died.
    await mkdir(`${file}.lock`);
    const aMinuteAgo = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, aMinuteAgo, aMinuteAgo);
    const rotation = await ring.rotateKek('tenant-a');
    expect(rotation.kek.currentVersion).toBe('1');
    expect(await readdir(join(dir, 'nested'))).toEqual(['keyring.json']);
    await ring.close();
  });

  it('waits for a live lock holder, then reports the ring busy (retryable)', async () => {
    const { ring } = await LocalKeyRing.open({
      file,
      masterSecret: secret(),
      createIfMissing: true,
      scrypt: FAST,
      lock: { timeoutMs: 200 },
    });
    // Another process (the CLI, say) holds the lock and keeps it fresh.
    const release = await lockfile.lock(file, { realpath: false });
    await expect(ring.rotateKek('tenant-a')).rejects.toMatchObject({
      code: 'key_provider_unavailable',
      retryable: true,
    });
    await release();
    await expect(ring.rotateKek('tenant-a')).resolves.toMatchObject({ created: true });
    await ring.close();
  });

  it('makes 61-byte version-1 wraps and rejects an unknown wrap format', async () => {
    const { ring } = await openRing({ file, masterSecret: secret() });
    const { wrapped } = await ring.generateDataKey(ctx);
    expect(wrapped.blob).toHaveLength(61);
    expect(wrapped.blob[0]).toBe(1);
    expect(wrapped.kekVersion).toBe('1');
    const v2 = Uint8Array.from(wrapped.blob);
    v2[0] = 2;
    await expect(ring.unwrap({ ...wrapped, blob: v2 }, ctx)).rejects.toThrow(/did not verify/);
    await ring.close();
  });

  it('describes only tenants that have a KEK and creates one on first data key', async () => {
    const { ring } = await openRing({ file, masterSecret: secret() });
    await expect(ring.describeKek(CONTRACT_TENANTS.b)).rejects.toBeInstanceOf(KekNotFoundError);
    await ring.generateDataKey({ tenantId: CONTRACT_TENANTS.b, streamId: 's' });
    expect(await ring.describeKek(CONTRACT_TENANTS.b)).toMatchObject({
      currentVersion: '1',
      versions: ['1'],
      enabled: true,
    });
    const rotation = await ring.rotateKek(CONTRACT_TENANTS.b);
    expect(rotation).toMatchObject({ created: true, kek: { currentVersion: '2' } });
    await ring.close();
  });

  it('cannot be used after close', async () => {
    const { ring } = await openRing({ file, masterSecret: secret() });
    const { wrapped } = await ring.generateDataKey(ctx);
    await ring.close();
    await expect(ring.unwrap(wrapped, ctx)).rejects.toBeInstanceOf(KeyProviderError);
  });

  it('opens with the default scrypt cost', async () => {
    const master = secret();
    const created = await LocalKeyRing.open({ file, masterSecret: master, createIfMissing: true });
    await created.ring.close();
    const header = JSON.parse(await readFile(file, 'utf8')) as { kdf: { N: number } };
    expect(header.kdf.N).toBe(2 ** 15);
    const reopened = await LocalKeyRing.open({ file, masterSecret: master });
    await reopened.ring.close();
  });
});
