import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { LedgerlineError } from '@ledgerline/kernel';
import { KekNotFoundError, KeyUnwrapError } from '../crypto.errors';
import type { KeyContext, KeyProvider, WrappedDataKey } from '../key-provider.port';

export interface KeyProviderFixture {
  readonly provider: KeyProvider;
  /**
   * Makes a new KEK version current for the tenant the way an operator would (local ring:
   * rotateKek; KMS: point the tenant's alias at a new key). Absent when the fixture cannot, e.g.
   * against real AWS; the rotation test is then reported as skipped.
   */
  readonly rotate?: (tenantId: string) => Promise<void>;
  /** A KEK id of the provider's shape that does not exist. */
  readonly unknownKekId: string;
  /** A tenant without any KEK, where the provider can have one. */
  readonly tenantWithoutKek?: string;
  teardown(): Promise<void>;
}

/** Tenants the contract uses; a fixture backed by fixed keys must give each one a KEK. */
export const CONTRACT_TENANTS = {
  a: 'tenant-a',
  b: 'tenant-b',
  rotating: 'tenant-rotating',
} as const;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** Every rendering of an error a log line could carry: message, stack, properties and causes. */
function rendered(error: unknown): string {
  return `${String(error)}\n${inspect(error, { depth: 10, showHidden: true })}\n${JSON.stringify(error)}`;
}

function expectNoSecrets(error: unknown, secrets: readonly Uint8Array[]): void {
  expect(error).toBeInstanceOf(LedgerlineError);
  const text = rendered(error);
  for (const secret of secrets) {
    expect(text).not.toContain(hex(secret));
    expect(text).not.toContain(base64(secret));
    expect(text).not.toContain(base64(secret).replace(/=+$/, ''));
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the operation to fail');
    },
    (error: unknown) => error,
  );
}

function tampered(blob: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(blob);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

/**
 * The behaviour every KeyProvider adapter must show (the guarantees on the port). Each adapter's
 * spec calls this with a factory; stream ids are unique per test so one provider serves a file.
 */
export function keyProviderContract(
  name: string,
  open: () => Promise<KeyProviderFixture>,
  options: { readonly rotates: boolean },
): void {
  describe(`KeyProvider contract: ${name}`, () => {
    let f: KeyProviderFixture;
    let streamId: string;
    const ctx = (tenantId: string = CONTRACT_TENANTS.a, stream = streamId): KeyContext => ({
      tenantId,
      streamId: stream,
    });

    beforeAll(async () => {
      f = await open();
    });
    afterAll(async () => {
      await f?.teardown();
    });
    beforeEach(() => {
      streamId = `conversation-${randomUUID()}`;
    });

    describe('generate and unwrap', () => {
      it('returns 32 fresh random bytes and a wrap under the tenant current KEK that unwraps to them', async () => {
        const one = await f.provider.generateDataKey(ctx());
        const two = await f.provider.generateDataKey(ctx());
        expect(one.plaintext).toHaveLength(32);
        expect(one.plaintext.equals(two.plaintext)).toBe(false);
        const kek = await f.provider.describeKek(CONTRACT_TENANTS.a);
        expect(kek).toMatchObject({ tenantId: CONTRACT_TENANTS.a, enabled: true });
        expect(one.wrapped.kekId).toBe(kek.kekId);
        expect(one.wrapped.kekVersion).toBe(kek.currentVersion);
        expect(kek.versions).toContain(kek.currentVersion);

        const unwrapped = await f.provider.unwrap(one.wrapped, ctx());
        expect(unwrapped.equals(one.plaintext)).toBe(true);
      });

      it('never puts the plaintext key in the wrap', async () => {
        const { plaintext, wrapped } = await f.provider.generateDataKey(ctx());
        const blob = Buffer.from(wrapped.blob);
        expect(blob.includes(plaintext)).toBe(false);
        expect(blob.includes(plaintext.subarray(0, 8))).toBe(false);
        expect(blob.toString('latin1')).not.toContain(plaintext.toString('base64'));
      });

      it('serves concurrent first uses of a new tenant with one KEK', async () => {
        const tenant = `tenant-new-${randomUUID()}`;
        // A provider with fixed keys may give the new tenant a default key or refuse it.
        const keys = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => f.provider.generateDataKey(ctx(tenant, `s${i}`))),
        );
        const made = keys.flatMap((k) => (k.status === 'fulfilled' ? [k.value] : []));
        if (made.length === 0) {
          for (const k of keys)
            expect((k as PromiseRejectedResult).reason).toBeInstanceOf(KekNotFoundError);
          return;
        }
        expect(made).toHaveLength(8);
        expect(new Set(made.map((k) => `${k.wrapped.kekId}/${k.wrapped.kekVersion}`)).size).toBe(1);
        for (const [i, k] of made.entries()) {
          const back = await f.provider.unwrap(k.wrapped, ctx(tenant, `s${i}`));
          expect(back.equals(k.plaintext)).toBe(true);
        }
      });
    });

    describe('context binding', () => {
      it('refuses to unwrap for another tenant or another stream', async () => {
        const { wrapped } = await f.provider.generateDataKey(ctx());
        await expect(f.provider.unwrap(wrapped, ctx(CONTRACT_TENANTS.b))).rejects.toBeInstanceOf(
          KeyUnwrapError,
        );
        await expect(
          f.provider.unwrap(wrapped, ctx(CONTRACT_TENANTS.a, `${streamId}-other`)),
        ).rejects.toBeInstanceOf(KeyUnwrapError);
      });

      it('refuses to rewrap for another tenant or another stream', async () => {
        const { wrapped } = await f.provider.generateDataKey(ctx());
        await expect(
          f.provider.rewrap(wrapped, ctx(CONTRACT_TENANTS.a, 'other')),
        ).rejects.toBeInstanceOf(KeyUnwrapError);
        // Tenant b has a KEK of its own, so only the context can be what fails.
        await f.provider.generateDataKey(ctx(CONTRACT_TENANTS.b));
        await expect(f.provider.rewrap(wrapped, ctx(CONTRACT_TENANTS.b))).rejects.toBeInstanceOf(
          KeyUnwrapError,
        );
      });

      it('refuses a wrap altered in any byte, truncated or extended', async () => {
        const { wrapped } = await f.provider.generateDataKey(ctx());
        const n = wrapped.blob.length;
        const positions = [
          ...new Set([0, 1, 2, 3, n >> 2, n >> 1, (3 * n) >> 2, n - 17, n - 16, n - 2, n - 1]),
        ].filter((i) => i >= 0 && i < n);
        for (const i of positions) {
          await expect(
            f.provider.unwrap({ ...wrapped, blob: tampered(wrapped.blob, i) }, ctx()),
          ).rejects.toBeInstanceOf(KeyUnwrapError);
        }
        await expect(
          f.provider.unwrap({ ...wrapped, blob: wrapped.blob.subarray(0, n - 1) }, ctx()),
        ).rejects.toBeInstanceOf(KeyUnwrapError);
        await expect(
          f.provider.unwrap(
            { ...wrapped, blob: Buffer.concat([wrapped.blob, Buffer.of(0)]) },
            ctx(),
          ),
        ).rejects.toBeInstanceOf(KeyUnwrapError);
      });
    });

    describe('rewrap', () => {
      it('returns a new wrap of the same key under the current KEK and leaves the old one valid', async () => {
        const { plaintext, wrapped } = await f.provider.generateDataKey(ctx());
        const rewrapped = await f.provider.rewrap(wrapped, ctx());
        const kek = await f.provider.describeKek(CONTRACT_TENANTS.a);
        expect(rewrapped.kekId).toBe(kek.kekId);
        expect(rewrapped.kekVersion).toBe(kek.currentVersion);
        expect(Buffer.from(rewrapped.blob).equals(Buffer.from(wrapped.blob))).toBe(false);
        expect((await f.provider.unwrap(rewrapped, ctx())).equals(plaintext)).toBe(true);
        expect((await f.provider.unwrap(wrapped, ctx())).equals(plaintext)).toBe(true);
      });
    });

    describe('rotation', () => {
      const title =
        'makes new keys under the new version while old wraps still unwrap and rewrap forward';
      const test = options.rotates ? it : it.skip;
      test(options.rotates ? title : `${title} [skipped: this fixture cannot rotate]`, async () => {
        const tenant = CONTRACT_TENANTS.rotating;
        const old = await f.provider.generateDataKey(ctx(tenant));
        const before = await f.provider.describeKek(tenant);
        expect(old.wrapped.kekVersion).toBe(before.currentVersion);

        await f.rotate!(tenant);

        const after = await f.provider.describeKek(tenant);
        expect(after.currentVersion).not.toBe(before.currentVersion);
        expect(after.versions).toContain(after.currentVersion);
        const fresh = await f.provider.generateDataKey(ctx(tenant));
        expect(fresh.wrapped.kekVersion).toBe(after.currentVersion);
        expect((await f.provider.unwrap(fresh.wrapped, ctx(tenant))).equals(fresh.plaintext)).toBe(
          true,
        );

        expect((await f.provider.unwrap(old.wrapped, ctx(tenant))).equals(old.plaintext)).toBe(
          true,
        );
        const forward = await f.provider.rewrap(old.wrapped, ctx(tenant));
        expect(forward).toMatchObject({ kekId: after.kekId, kekVersion: after.currentVersion });
        expect((await f.provider.unwrap(forward, ctx(tenant))).equals(old.plaintext)).toBe(true);
        expect((await f.provider.unwrap(old.wrapped, ctx(tenant))).equals(old.plaintext)).toBe(
          true,
        );

        // An explicit target may be an older version the provider still holds.
        const back = await f.provider.rewrap(fresh.wrapped, ctx(tenant), {
          kekId: before.kekId,
          kekVersion: before.currentVersion,
        });
        expect(back.kekVersion).toBe(before.currentVersion);
        expect((await f.provider.unwrap(back, ctx(tenant))).equals(fresh.plaintext)).toBe(true);
      });
    });

    describe('unknown KEKs', () => {
      it('raises KekNotFoundError for an unknown KEK or KEK version, in unwrap and rewrap', async () => {
        const { wrapped } = await f.provider.generateDataKey(ctx());
        const kek = await f.provider.describeKek(CONTRACT_TENANTS.a);
        await expect(
          f.provider.rewrap(wrapped, ctx(), { kekId: f.unknownKekId }),
        ).rejects.toBeInstanceOf(KekNotFoundError);
        await expect(
          f.provider.rewrap(wrapped, ctx(), { kekId: kek.kekId, kekVersion: 'no-such-version' }),
        ).rejects.toBeInstanceOf(KekNotFoundError);
        // Where a KEK's version is its id (KMS: both are the key ARN), an unknown KEK has both.
        const unknownKek: WrappedDataKey = {
          ...wrapped,
          kekId: f.unknownKekId,
          kekVersion: kek.kekId === kek.currentVersion ? f.unknownKekId : wrapped.kekVersion,
        };
        await expect(f.provider.unwrap(unknownKek, ctx())).rejects.toBeInstanceOf(KekNotFoundError);
        await expect(
          f.provider.unwrap({ ...wrapped, kekVersion: 'no-such-version' }, ctx()),
        ).rejects.toBeInstanceOf(KekNotFoundError);
      });

      it('raises KekNotFoundError when describing a tenant without a KEK', async () => {
        if (!f.tenantWithoutKek) return;
        await expect(f.provider.describeKek(f.tenantWithoutKek)).rejects.toBeInstanceOf(
          KekNotFoundError,
        );
      });
    });

    describe('errors', () => {
      it('carry ids and operation names, never key bytes or wrapped blobs', async () => {
        const { plaintext, wrapped } = await f.provider.generateDataKey(ctx());
        const secrets = [plaintext, wrapped.blob];
        const errors = [
          await failure(f.provider.unwrap(wrapped, ctx(CONTRACT_TENANTS.b))),
          await failure(f.provider.unwrap({ ...wrapped, blob: tampered(wrapped.blob, 5) }, ctx())),
          await failure(f.provider.rewrap(wrapped, ctx(CONTRACT_TENANTS.a, 'other'))),
          await failure(f.provider.rewrap(wrapped, ctx(), { kekId: f.unknownKekId })),
          await failure(f.provider.unwrap({ ...wrapped, kekVersion: 'no-such-version' }, ctx())),
        ];
        for (const error of errors) expectNoSecrets(error, secrets);
        expect((errors[0] as Error).message).toContain(CONTRACT_TENANTS.b);
      });
    });
  });
}
