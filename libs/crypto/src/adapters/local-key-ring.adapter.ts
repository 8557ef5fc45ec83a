import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { ConflictError, ValidationError } from '@ledgerline/kernel';
import {
  KekNotFoundError,
  KeyProviderError,
  KeyRingOpenError,
  KeyUnwrapError,
} from '../crypto.errors';
import {
  assertId,
  assertKeyContext,
  type GeneratedDataKey,
  type KekDescription,
  type KekRotation,
  type KekTarget,
  type KeyContext,
  type KeyProvider,
  type WrappedDataKey,
} from '../key-provider.port';
import {
  DEFAULT_SCRYPT,
  KEY_BYTES,
  NONCE_BYTES,
  TAG_BYTES,
  deriveRingKey,
  fileIdentity,
  findVersion,
  looseModeBits,
  newKdfParams,
  openRingBody,
  parseRingHeader,
  readRingText,
  sameIdentity,
  sealRing,
  withFileLock,
  writeRingAtomically,
  type FileIdentity,
  type FileLockOptions,
  type KekVersionEntry,
  type RingKey,
  type RingState,
  type TenantKekEntry,
} from './key-ring-file';

/** First byte of every wrap the ring makes; a new wrap layout gets a new number. */
const WRAP_FORMAT_V1 = 0x01;
const WRAP_BYTES = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES;
const WRAP_AAD_LABEL = Buffer.from('ledgerline/local-key-ring/dek-wrap/v1', 'utf8');
const MIN_SECRET_CHARS = 32;

export interface LocalKeyRingOptions {
  /** Path of the ring file. */
  readonly file: string;
  /** At least 32 characters; normally 32 random bytes in base64. Stretched with scrypt. */
  readonly masterSecret: string;
  /** Create an empty ring when the file does not exist (the embedded default). */
  readonly createIfMissing?: boolean;
  /** Minimum time between checks for a ring rewritten by another process (default 1 s). */
  readonly refreshIntervalMs?: number;
  /** scrypt cost of a new ring (an existing ring keeps the cost in its header). */
  readonly scrypt?: { readonly N: number; readonly r: number; readonly p: number };
  readonly lock?: FileLockOptions;
}

export interface OpenedKeyRing {
  readonly ring: LocalKeyRing;
  /** True when this call created the ring file (the caller logs where). */
  readonly created: boolean;
  /** Problems worth a start-up warning, e.g. a ring file readable by other users. */
  readonly warnings: readonly string[];
}

/**
 * KeyProvider over a local key ring: one file holding every tenant's KEK versions (32 random bytes
 * each), the whole file encrypted with AES-256-GCM under a key derived with scrypt from the master
 * secret (salt and cost in the file's header). A tenant's KEK is created on its first data key;
 * `rotateKek` adds a version and makes it current. Old versions stay, so every wrap the ring made
 * still unwraps, until `retireKekVersion` destroys one that nothing is wrapped under any more.
 *
 * A wrap is `0x01 ‖ nonce(12) ‖ AES-256-GCM(DEK)(32) ‖ tag(16)` under the KEK version, with
 * associated data binding a label, the KEK id and version, the tenant and the stream.
 *
 * The file may be shared by processes on one host (server and CLI): changes are made under a lock
 * file, re-reading the ring first, and written atomically (temporary file, fsync, rename) with mode
 * 0600. A process notices another's rotation within `refreshIntervalMs`, and at once when it meets
 * a KEK version it does not know.
 */
export class LocalKeyRing implements KeyProvider {
  readonly kind = 'local' as const;
  private closed = false;
  private lastCheck = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly ringKey: RingKey,
    private state: RingState,
    private identity: FileIdentity | undefined,
    private readonly refreshIntervalMs: number,
    private readonly lockOptions: FileLockOptions,
  ) {}

  /**
   * Opens the ring at `file`, creating it when missing and `createIfMissing` is set. A wrong master
   * secret raises KeyRingOpenError and writes nothing.
   */
  static async open(options: LocalKeyRingOptions): Promise<OpenedKeyRing> {
    if (
      typeof options.masterSecret !== 'string' ||
      options.masterSecret.length < MIN_SECRET_CHARS
    ) {
      throw new ValidationError(
        `the key ring's master secret must be at least ${MIN_SECRET_CHARS} characters (32 random bytes, base64)`,
        'masterSecret',
      );
    }
    const file = options.file;
    const refresh = options.refreshIntervalMs ?? 1_000;
    const lock = options.lock ?? {};
    let text = await readRingText(file);
    let created = false;
    if (text === undefined) {
      if (!options.createIfMissing) {
        throw new KeyRingOpenError(`key ring ${file} does not exist`);
      }
      const ringKey = await deriveRingKey(
        options.masterSecret,
        newKdfParams(options.scrypt ?? DEFAULT_SCRYPT),
      );
      const state: RingState = { ringId: randomUUID(), tenants: new Map() };
      created = await writeRingAtomically(file, sealRing(state, ringKey), { exclusive: true });
      if (created) {
        const ring = new LocalKeyRing(
          file,
          ringKey,
          state,
          await fileIdentity(file),
          refresh,
          lock,
        );
        return { ring, created, warnings: [] };
      }
      // Another process created it between our read and our write: open theirs.
      ringKey.key.fill(0);
      text = await readRingText(file);
      if (text === undefined) throw new KeyRingOpenError(`key ring ${file} vanished while opening`);
    }
    const identity = await fileIdentity(file);
    const header = parseRingHeader(text, file);
    const ringKey = await deriveRingKey(options.masterSecret, header.kdf);
    let state: RingState;
    try {
      state = openRingBody(header, ringKey, file);
    } catch (error) {
      ringKey.key.fill(0);
      throw error;
    }
    const warnings: string[] = [];
    const loose = await looseModeBits(file);
    if (loose !== 0) {
      warnings.push(
        `key ring ${file} is accessible to group or other users (mode ...${loose.toString(8).padStart(2, '0')}); chmod 600 it`,
      );
    }
    return {
      ring: new LocalKeyRing(file, ringKey, state, identity, refresh, lock),
      created,
      warnings,
    };
  }

  get path(): string {
    return this.file;
  }

  async generateDataKey(context: KeyContext, target?: KekTarget): Promise<GeneratedDataKey> {
    assertKeyContext(context);
    if (target) {
      assertId(target.kekId, 'kekId');
      if (target.kekVersion !== undefined) assertId(target.kekVersion, 'kekVersion');
    }
    this.assertOpen();
    await this.refresh();
    if (target && !this.findTargetVersion(context.tenantId, target)) await this.refresh(true);
    if (!target && !this.state.tenants.has(context.tenantId)) {
      await this.mutate((state) => withTenantKek(state, context.tenantId));
    }
    // No await from here on: the KEK looked up is the one used.
    const found = target
      ? this.findTargetVersion(context.tenantId, target)
      : this.currentOf(context.tenantId);
    if (!found) {
      throw new KekNotFoundError(
        `KEK ${target?.kekId ?? '?'} version ${target?.kekVersion ?? 'current'} is not a KEK of tenant ${context.tenantId} in key ring ${this.file}`,
      );
    }
    const { kek, version } = found;
    const plaintext = randomBytes(KEY_BYTES);
    const blob = wrapKey(plaintext, version.key, wrapAad(kek.kekId, version.version, context));
    return { plaintext, wrapped: { kekId: kek.kekId, kekVersion: version.version, blob } };
  }

  async unwrap(wrapped: WrappedDataKey, context: KeyContext): Promise<Buffer> {
    assertKeyContext(context);
    assertWrapped(wrapped);
    this.assertOpen();
    await this.refresh();
    if (!this.findKek(wrapped.kekId, wrapped.kekVersion)) await this.refresh(true);
    return this.unwrapNow(wrapped, context);
  }

  async rewrap(
    wrapped: WrappedDataKey,
    context: KeyContext,
    target?: KekTarget,
  ): Promise<WrappedDataKey> {
    assertKeyContext(context);
    assertWrapped(wrapped);
    if (target) {
      assertId(target.kekId, 'kekId');
      if (target.kekVersion !== undefined) assertId(target.kekVersion, 'kekVersion');
    }
    this.assertOpen();
    await this.refresh();
    const needsReload =
      !this.findKek(wrapped.kekId, wrapped.kekVersion) ||
      (target && !this.findTargetVersion(context.tenantId, target)) ||
      (!target && !this.state.tenants.has(context.tenantId));
    if (needsReload) await this.refresh(true);
    // No await from here on. The source is checked first: a wrong context is KeyUnwrapError
    // whatever the destination.
    const plaintext = this.unwrapNow(wrapped, context);
    try {
      const destination = target
        ? this.findTargetVersion(context.tenantId, target)
        : this.currentOf(context.tenantId);
      if (!destination) {
        throw new KekNotFoundError(
          target
            ? `KEK ${target.kekId}${target.kekVersion ? ` version ${target.kekVersion}` : ''} is not a KEK of tenant ${context.tenantId} in key ring ${this.file}`
            : `tenant ${context.tenantId} has no KEK in key ring ${this.file}`,
        );
      }
      const blob = wrapKey(
        plaintext,
        destination.version.key,
        wrapAad(destination.kek.kekId, destination.version.version, context),
      );
      return {
        kekId: destination.kek.kekId,
        kekVersion: destination.version.version,
        blob,
      };
    } finally {
      plaintext.fill(0);
    }
  }

  async describeKek(tenantId: string): Promise<KekDescription> {
    assertId(tenantId, 'tenantId');
    this.assertOpen();
    await this.refresh();
    if (!this.state.tenants.has(tenantId)) await this.refresh(true);
    return describeKek(tenantId, this.tenantKek(tenantId));
  }

  async rotateKek(tenantId: string): Promise<KekRotation> {
    assertId(tenantId, 'tenantId');
    this.assertOpen();
    await this.mutate((state) => withNewVersion(state, tenantId));
    return { created: true, kek: describeKek(tenantId, this.tenantKek(tenantId)) };
  }

  /**
   * Destroys a KEK version of the tenant (its key material leaves the ring file; wraps under it
   * never open again). Refuses the current version and an unknown one. The caller checks that no
   * data key is wrapped under it any more (KeyLifecycle does, against the data-key store).
   */
  async retireKekVersion(tenantId: string, kekVersion: string): Promise<void> {
    assertId(tenantId, 'tenantId');
    assertId(kekVersion, 'kekVersion');
    this.assertOpen();
    let retired: KekVersionEntry | undefined;
    await this.mutate((state) => {
      const kek = state.tenants.get(tenantId);
      retired = kek ? findVersion(kek, kekVersion) : undefined;
      if (!kek || !retired) {
        throw new KekNotFoundError(
          `tenant ${tenantId} has no KEK version ${kekVersion} in key ring ${this.file}`,
        );
      }
      if (kek.current === kekVersion) {
        throw new ConflictError(
          `KEK version ${kekVersion} is tenant ${tenantId}'s current version; rotate first`,
        );
      }
      const tenants = new Map(state.tenants);
      tenants.set(tenantId, {
        ...kek,
        versions: kek.versions.filter((v) => v.version !== kekVersion),
      });
      return { ...state, tenants };
    });
    // Unwraps use a version synchronously: nothing holds this one across an await.
    retired?.key.fill(0);
  }

  /** Wipes every KEK and the file key from memory; the ring cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    for (const kek of this.state.tenants.values()) for (const v of kek.versions) v.key.fill(0);
    this.ringKey.key.fill(0);
  }

  private unwrapNow(wrapped: WrappedDataKey, context: KeyContext): Buffer {
    const found = this.findKek(wrapped.kekId, wrapped.kekVersion);
    if (!found) {
      throw new KekNotFoundError(
        `KEK ${wrapped.kekId} version ${wrapped.kekVersion} is not in key ring ${this.file}`,
      );
    }
    const plaintext = unwrapKey(
      wrapped.blob,
      found.version.key,
      wrapAad(wrapped.kekId, wrapped.kekVersion, context),
    );
    if (!plaintext) {
      throw new KeyUnwrapError(
        `data key wrap under KEK ${wrapped.kekId} version ${wrapped.kekVersion} did not verify for tenant ${context.tenantId}, stream ${context.streamId} (altered, or wrapped for another tenant or stream)`,
      );
    }
    return plaintext;
  }

  private tenantKek(tenantId: string): TenantKekEntry {
    const kek = this.state.tenants.get(tenantId);
    if (!kek) {
      throw new KekNotFoundError(`tenant ${tenantId} has no KEK in key ring ${this.file}`);
    }
    return kek;
  }

  private currentOf(
    tenantId: string,
  ): { kek: TenantKekEntry; version: KekVersionEntry } | undefined {
    const kek = this.state.tenants.get(tenantId);
    return kek ? { kek, version: currentVersion(kek) } : undefined;
  }

  private findTargetVersion(
    tenantId: string,
    target: KekTarget,
  ): { kek: TenantKekEntry; version: KekVersionEntry } | undefined {
    const kek = this.state.tenants.get(tenantId);
    if (!kek || kek.kekId !== target.kekId) return undefined;
    const version =
      target.kekVersion === undefined ? currentVersion(kek) : findVersion(kek, target.kekVersion);
    return version ? { kek, version } : undefined;
  }

  private findKek(
    kekId: string,
    version: string,
  ): { kek: TenantKekEntry; version: KekVersionEntry } | undefined {
    for (const kek of this.state.tenants.values()) {
      if (kek.kekId !== kekId) continue;
      const v = findVersion(kek, version);
      return v ? { kek, version: v } : undefined;
    }
    return undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new KeyProviderError(`key ring ${this.file} is closed`);
  }

  /** Runs `fn` after every earlier reload or change of this instance. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Reloads the ring when another process rewrote the file since we last read or wrote it. */
  private async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.lastCheck < this.refreshIntervalMs) return;
    await this.exclusive(async () => {
      this.lastCheck = Date.now();
      const identity = await fileIdentity(this.file);
      // A missing file keeps the keys in memory working; the next change fails loudly.
      if (!identity || sameIdentity(identity, this.identity)) return;
      await this.reload();
    });
  }

  private async reload(): Promise<void> {
    const identity = await fileIdentity(this.file);
    const text = await readRingText(this.file);
    if (text === undefined) throw new KeyRingOpenError(`key ring ${this.file} disappeared`);
    const header = parseRingHeader(text, this.file);
    if (
      header.kdf.salt !== this.ringKey.kdf.salt ||
      header.kdf.N !== this.ringKey.kdf.N ||
      header.kdf.r !== this.ringKey.kdf.r ||
      header.kdf.p !== this.ringKey.kdf.p
    ) {
      throw new KeyRingOpenError(
        `key ring ${this.file} was replaced by a ring with another master secret or salt; restart to open it`,
      );
    }
    const next = openRingBody(header, this.ringKey, this.file, this.state);
    if (next.ringId !== this.state.ringId) {
      throw new KeyRingOpenError(
        `key ring ${this.file} was replaced by another ring (${next.ringId}); restart to open it`,
      );
    }
    this.state = next;
    this.identity = identity;
  }

  /** Read-modify-write under the in-process queue and the cross-process lock file. */
  private mutate(change: (state: RingState) => RingState): Promise<void> {
    return this.exclusive(() =>
      withFileLock(
        this.file,
        async () => {
          this.assertOpen();
          const identity = await fileIdentity(this.file);
          if (!identity) {
            throw new KeyRingOpenError(
              `key ring ${this.file} is missing; restore it from backup (a new ring cannot unwrap existing data keys)`,
            );
          }
          if (!sameIdentity(identity, this.identity)) await this.reload();
          const next = change(this.state);
          if (next === this.state) return;
          await writeRingAtomically(this.file, sealRing(next, this.ringKey));
          this.state = next;
          this.identity = await fileIdentity(this.file);
          this.lastCheck = Date.now();
        },
        this.lockOptions,
      ),
    );
  }
}

function currentVersion(kek: TenantKekEntry): KekVersionEntry {
  const version = findVersion(kek, kek.current);
  // openRingBody and every change keep `current` among the versions.
  if (!version) throw new KeyProviderError(`KEK ${kek.kekId} has no current version`);
  return version;
}

function describeKek(tenantId: string, kek: TenantKekEntry): KekDescription {
  return {
    tenantId,
    kekId: kek.kekId,
    currentVersion: kek.current,
    versions: kek.versions.map((v) => v.version),
    enabled: true,
  };
}

function newVersion(version: string): KekVersionEntry {
  return { version, key: randomBytes(KEY_BYTES), createdAt: new Date().toISOString() };
}

function withTenantKek(state: RingState, tenantId: string): RingState {
  if (state.tenants.has(tenantId)) return state;
  const tenants = new Map(state.tenants);
  tenants.set(tenantId, { kekId: randomUUID(), current: '1', versions: [newVersion('1')] });
  return { ...state, tenants };
}

function withNewVersion(state: RingState, tenantId: string): RingState {
  const kek = state.tenants.get(tenantId);
  if (!kek) return withTenantKek(state, tenantId);
  const next = String(Math.max(...kek.versions.map((v) => Number(v.version) || 0)) + 1);
  const tenants = new Map(state.tenants);
  tenants.set(tenantId, {
    kekId: kek.kekId,
    current: next,
    versions: [...kek.versions, newVersion(next)],
  });
  return { ...state, tenants };
}

function lengthPrefixed(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function wrapAad(kekId: string, kekVersion: string, context: KeyContext): Buffer {
  return Buffer.concat([
    WRAP_AAD_LABEL,
    Buffer.of(WRAP_FORMAT_V1),
    lengthPrefixed(kekId),
    lengthPrefixed(kekVersion),
    lengthPrefixed(context.tenantId),
    lengthPrefixed(context.streamId),
  ]);
}

function wrapKey(plaintext: Buffer, kek: Buffer, aad: Buffer): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(
    Buffer.concat([Buffer.of(WRAP_FORMAT_V1), nonce, sealed, cipher.getAuthTag()]),
  );
}

function unwrapKey(blob: Uint8Array, kek: Buffer, aad: Buffer): Buffer | undefined {
  if (blob.length !== WRAP_BYTES || blob[0] !== WRAP_FORMAT_V1) return undefined;
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const plaintext = Buffer.alloc(KEY_BYTES);
  let decrypted: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(WRAP_BYTES - TAG_BYTES));
    // GCM is a stream mode: update() yields every byte, final() only checks the tag.
    decrypted = decipher.update(bytes.subarray(1 + NONCE_BYTES, WRAP_BYTES - TAG_BYTES));
    decipher.final();
    decrypted.copy(plaintext);
    return plaintext;
  } catch {
    plaintext.fill(0);
    return undefined;
  } finally {
    decrypted?.fill(0);
  }
}

function assertWrapped(wrapped: WrappedDataKey): void {
  assertId(wrapped.kekId, 'kekId');
  assertId(wrapped.kekVersion, 'kekVersion');
  if (!(wrapped.blob instanceof Uint8Array)) {
    throw new ValidationError('wrapped data key blob must be bytes', 'blob');
  }
}
