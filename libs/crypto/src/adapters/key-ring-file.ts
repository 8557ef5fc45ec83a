import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import lockfile from 'proper-lockfile';
import { KeyProviderError, KeyProviderUnavailableError, KeyRingOpenError } from '../crypto.errors';

// The local key ring on disk: one JSON file whose header says how to derive the file key from the
// master secret (scrypt, salt in the header) and whose body is the AES-256-GCM encryption of the
// ring's contents (every tenant's KEK versions), with the header as associated data.

const FORMAT = 'ledgerline-keyring';
const FILE_VERSION = 1;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CHECK_LABEL = 'ledgerline keyring master-secret check v1';

export interface KdfParams {
  readonly name: 'scrypt';
  readonly salt: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Costs of a new ring's key derivation (32 MiB, about 0.1 s once per start). */
export const DEFAULT_SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const;

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

const fileSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(FILE_VERSION),
  kdf: z.object({
    name: z.literal('scrypt'),
    salt: b64,
    N: z
      .number()
      .int()
      .min(2 ** 10)
      .max(2 ** 22),
    r: z.number().int().min(1).max(64),
    p: z.number().int().min(1).max(16),
  }),
  check: b64,
  cipher: z.literal('aes-256-gcm'),
  nonce: b64,
  tag: b64,
  ciphertext: b64,
});

type RingFile = z.infer<typeof fileSchema>;

const contentsSchema = z.object({
  ringId: z.string().min(1),
  tenants: z.record(
    z.string(),
    z.object({
      kekId: z.string().min(1),
      current: z.string().min(1),
      versions: z
        .array(z.object({ version: z.string().min(1), key: b64, createdAt: z.string() }))
        .min(1),
    }),
  ),
});

export interface KekVersionEntry {
  readonly version: string;
  /** 32 bytes. Shared between successive in-memory states; wiped only when the ring closes. */
  readonly key: Buffer;
  readonly createdAt: string;
}

export interface TenantKekEntry {
  readonly kekId: string;
  readonly current: string;
  /** Oldest first. */
  readonly versions: readonly KekVersionEntry[];
}

export interface RingState {
  readonly ringId: string;
  readonly tenants: ReadonlyMap<string, TenantKekEntry>;
}

/** The derived file key and the header it belongs to; kept in memory while the ring is open. */
export interface RingKey {
  readonly kdf: KdfParams;
  readonly key: Buffer;
  readonly check: string;
}

export async function deriveRingKey(masterSecret: string, kdf: KdfParams): Promise<RingKey> {
  const options: ScryptOptions = {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    maxmem: 256 * kdf.N * kdf.r + 16 * 1024 * 1024,
  };
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      Buffer.from(masterSecret, 'utf8'),
      Buffer.from(kdf.salt, 'base64'),
      KEY_BYTES,
      options,
      (error, derived) => (error ? reject(error) : resolve(derived)),
    ),
  );
  const check = createHmac('sha256', key).update(CHECK_LABEL).digest().subarray(0, 16);
  return { kdf, key, check: check.toString('base64') };
}

export function newKdfParams(cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT) {
  return { name: 'scrypt', salt: randomBytes(16).toString('base64'), ...cost } as const;
}

// The header is bound to the body as associated data, so a swapped salt or cost fails to open.
function headerAad(kdf: KdfParams, check: string): Buffer {
  return Buffer.from(
    JSON.stringify([FORMAT, FILE_VERSION, kdf.name, kdf.salt, kdf.N, kdf.r, kdf.p, check]),
    'utf8',
  );
}

/** Serialises and encrypts the ring: the file's full text. */
export function sealRing(state: RingState, ringKey: RingKey): string {
  const contents = {
    ringId: state.ringId,
    tenants: Object.fromEntries(
      [...state.tenants].map(([tenantId, kek]) => [
        tenantId,
        {
          kekId: kek.kekId,
          current: kek.current,
          versions: kek.versions.map((v) => ({
            version: v.version,
            key: v.key.toString('base64'),
            createdAt: v.createdAt,
          })),
        },
      ]),
    ),
  };
  const plaintext = Buffer.from(JSON.stringify(contents), 'utf8');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', ringKey.key, nonce);
  cipher.setAAD(headerAad(ringKey.kdf, ringKey.check));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  const file: RingFile = {
    format: FORMAT,
    version: FILE_VERSION,
    kdf: ringKey.kdf,
    check: ringKey.check,
    cipher: 'aes-256-gcm',
    nonce: nonce.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The header of a ring file, or KeyRingOpenError when the text is not a Ledgerline key ring. */
export function parseRingHeader(text: string, file: string): RingFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyRingOpenError(`${file} is not a Ledgerline key ring (not JSON)`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new KeyRingOpenError(
      `${file} is not a Ledgerline key ring of a format this build reads (expected ${FORMAT} version ${FILE_VERSION})`,
    );
  }
  return parsed.data;
}

/**
 * Decrypts a ring file with the derived key. Versions already in `reuse` keep their Buffer objects,
 * so a reload never invalidates a key another caller is about to use.
 */
export function openRingBody(
  header: RingFile,
  ringKey: RingKey,
  file: string,
  reuse?: RingState,
): RingState {
  const expected = Buffer.from(header.check, 'base64');
  const actual = Buffer.from(ringKey.check, 'base64');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new KeyRingOpenError(
      `cannot open key ring ${file}: the master secret is not the one this ring was created with; nothing was changed`,
    );
  }
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      ringKey.key,
      Buffer.from(header.nonce, 'base64'),
    );
    decipher.setAAD(headerAad(header.kdf, header.check));
    decipher.setAuthTag(Buffer.from(header.tag, 'base64'));
    plaintext = Buffer.concat([
      decipher.update(Buffer.from(header.ciphertext, 'base64')),
      decipher.final(),
    ]);
  } catch {
    throw new KeyRingOpenError(
      `cannot open key ring ${file}: the master secret is right but the file is corrupted (restore it from backup)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(plaintext.toString('utf8'));
  } catch {
    json = undefined;
  } finally {
    plaintext.fill(0);
  }
  const parsed = contentsSchema.safeParse(json);
  if (!parsed.success) {
    throw new KeyRingOpenError(`cannot open key ring ${file}: its contents are malformed`);
  }
  const tenants = new Map<string, TenantKekEntry>();
  for (const [tenantId, kek] of Object.entries(parsed.data.tenants)) {
    const known = reuse?.tenants.get(tenantId);
    const versions = kek.versions.map((v): KekVersionEntry => {
      const existing = known?.kekId === kek.kekId ? findVersion(known, v.version) : undefined;
      if (existing) return existing;
      const key = Buffer.from(v.key, 'base64');
      if (key.length !== KEY_BYTES) {
        key.fill(0);
        throw new KeyRingOpenError(
          `cannot open key ring ${file}: KEK ${kek.kekId} version ${v.version} is not ${KEY_BYTES} bytes`,
        );
      }
      return { version: v.version, key, createdAt: v.createdAt };
    });
    if (!versions.some((v) => v.version === kek.current)) {
      throw new KeyRingOpenError(
        `cannot open key ring ${file}: KEK ${kek.kekId} has no version ${kek.current}`,
      );
    }
    tenants.set(tenantId, { kekId: kek.kekId, current: kek.current, versions });
  }
  return { ringId: parsed.data.ringId, tenants };
}

export function findVersion(kek: TenantKekEntry, version: string): KekVersionEntry | undefined {
  return kek.versions.find((v) => v.version === version);
}

/** Identity of the file as last read or written: a change means another process rewrote it. */
export interface FileIdentity {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
}

export async function fileIdentity(file: string): Promise<FileIdentity | undefined> {
  try {
    const s = await stat(file);
    return { ino: s.ino, mtimeMs: s.mtimeMs, size: s.size };
  } catch {
    return undefined;
  }
}

export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return !!a && !!b && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

export async function readRingText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new KeyRingOpenError(`cannot read key ring ${file} (${errorCode(error) ?? 'error'})`);
  }
}

/** Group/other permission bits of the file, for a start-up warning when they are not 0. */
export async function looseModeBits(file: string): Promise<number> {
  try {
    return (await stat(file)).mode & 0o077;
  } catch {
    return 0;
  }
}

/**
 * Writes through a temporary file in the same directory and renames it over the ring, so a crash
 * leaves the old ring or the new one, never half of either. `exclusive`: only if no ring exists
 * yet (hard link, which fails when the name is taken); returns false when another writer won.
 */
export async function writeRingAtomically(
  file: string,
  text: string,
  options: { exclusive?: boolean } = {},
): Promise<boolean> {
  const dir = dirname(file);
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) {
      try {
        await link(tmp, file);
      } catch (error) {
        if (errorCode(error) === 'EEXIST') return false;
        throw error;
      }
    } else {
      await rename(tmp, file);
    }
    await syncDirectory(dir);
    return true;
  } catch (error) {
    throw new KeyProviderError(`cannot write key ring ${file} (${errorCode(error) ?? 'error'})`);
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename durable; not every platform lets a directory be opened for fsync.
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle.close();
  }
}

export interface FileLockOptions {
  readonly timeoutMs?: number;
  /** A lock not refreshed for this long is taken to be left by a crashed process. */
  readonly staleMs?: number;
}

/**
 * Cross-process mutual exclusion for read-modify-write of the ring (the server and the CLI may
 * both rotate), with proper-lockfile's lock directory next to the ring.
 */
export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 }).catch(() => undefined);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, {
      realpath: false,
      stale: Math.max(options.staleMs ?? 30_000, 2_000),
      retries: { retries: Math.ceil(timeoutMs / 50), minTimeout: 20, maxTimeout: 50, factor: 1 },
    });
  } catch (error) {
    if (errorCode(error) === 'ELOCKED') {
      throw new KeyProviderUnavailableError(
        `key ring ${file} is locked by another process; retry later`,
      );
    }
    throw new KeyProviderError(`cannot lock key ring ${file} (${errorCode(error) ?? 'error'})`);
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export { KEY_BYTES, NONCE_BYTES, TAG_BYTES };
