import { ManualClock, NotFoundError, ValidationError, uuidV7Generator } from '@ledgerline/kernel';
import { identityManifest } from '../manifest';
import { availableDatabases, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { AuthenticationError, type AuthenticationFailure } from '../identity.errors';
import { ApiKeyStore } from './api-key-store';
import { hashApiKey } from './api-key-format';

const ROLES = new Set(['service', 'admin']);

async function failure(promise: Promise<unknown>, key?: string): Promise<AuthenticationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  if (key) expect((error as Error).message).not.toContain(key.slice(4));
  return (error as AuthenticationError).reason;
}

describe.each(availableDatabases())('ApiKeyStore on %s', (kind) => {
  // One database for the suite (opening PGlite costs seconds); each test works in its own tenants.
  let db: TestDatabase;
  let store: ApiKeyStore;
  let tenantA: string;
  let tenantB: string;
  let run = 0;
  const clock = new ManualClock('2026-03-01T09:00:00.000Z');

  beforeAll(async () => {
    db = await openTestDatabase(kind, [identityManifest]);
    store = ApiKeyStore.open(db.client, {
      clock,
      ids: uuidV7Generator,
      definesRole: (role) => ROLES.has(role),
    });
  });

  beforeEach(() => {
    run += 1;
    tenantA = `tenant-a-${run}`;
    tenantB = `tenant-b-${run}`;
  });

  afterAll(() => db.close());

  // Issue 10, item 11.
  it('refuses a key for a reserved tenant, at creation and (if written directly) at authentication', async () => {
    await expect(store.create('ledgerline-deployment', 'x', ['service'])).rejects.toBeInstanceOf(
      ValidationError,
    );
    const { id, key } = await store.create(tenantA, 'smuggled', ['service']);
    await db.client.query(
      `update ll_api_keys set tenant_id = 'ledgerline-deployment' where id = $1`,
      [id],
    );
    expect(await failure(store.authenticate(key), key)).toBe('no_tenant');
  });

  it('creates a key that authenticates as a service of its tenant, until it is revoked', async () => {
    const { id, key } = await store.create(tenantA, 'billing backend', ['service']);
    const principal = await store.authenticate(key);
    expect(principal).toEqual({
      kind: 'service',
      id,
      tenantId: tenantA,
      roles: ['service'],
      credentialId: id,
    });

    clock.advance(60_000);
    const revoked = await store.revoke(id);
    expect(revoked.revokedAt).toEqual(clock.now());
    expect(await failure(store.authenticate(key), key)).toBe('revoked');

    // Revoking again keeps the first revocation time.
    clock.advance(60_000);
    expect((await store.revoke(id)).revokedAt).toEqual(revoked.revokedAt);
  });

  it('stores a hash of the key, never the key or its secret', async () => {
    const { id, key } = await store.create(tenantA, 'ehr sync', ['service', 'admin']);
    const secret = key.split('_').slice(2).join('_');
    const rows = await db.client.query<Record<string, unknown>>(
      'select * from ll_api_keys where id = $1',
      [id],
    );
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    const everything = Object.values(row)
      .map((v) =>
        v instanceof Uint8Array
          ? `${Buffer.from(v).toString('hex')} ${Buffer.from(v).toString('base64url')} ${Buffer.from(v).toString('latin1')}`
          : JSON.stringify(v),
      )
      .join(' ');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(key);
    expect(Buffer.from(row['hash'] as Uint8Array).equals(hashApiKey(key))).toBe(true);
    expect(row['prefix']).toBe(key.split('_')[1]);
  });

  it('lists a tenant’s keys without secrets, revoked ones marked', async () => {
    const first = await store.create(tenantA, 'one', ['service']);
    clock.advance(1_000);
    const second = await store.create(tenantA, 'two', ['admin']);
    await store.create(tenantB, 'other tenant', ['service']);
    await store.revoke(first.id);

    const listed = await store.list(tenantA);
    expect(listed.map((k) => [k.id, k.name, k.roles, k.revokedAt !== undefined])).toEqual([
      [first.id, 'one', ['service'], true],
      [second.id, 'two', ['admin'], false],
    ]);
    expect(listed[1]!.prefix).toBe(second.key.split('_')[1]);
    expect(JSON.stringify(listed)).not.toContain(second.key.split('_')[2]!.slice(0, 10));
    expect(Object.keys(listed[1]!).sort()).toEqual([
      'createdAt',
      'id',
      'name',
      'prefix',
      'roles',
      'tenantId',
    ]);
    expect(await store.list('tenant-c-never-used')).toEqual([]);
  });

  it('refuses unknown, altered, malformed and missing keys', async () => {
    const { key } = await store.create(tenantA, 'svc', ['service']);
    const lastChar = key.at(-1) === 'A' ? 'B' : 'A';
    const altered = `${key.slice(0, -1)}${lastChar}`;
    expect(await failure(store.authenticate(altered), altered)).toBe('unknown_credential');
    const stranger = `llk_${'0'.repeat(16)}_${'A'.repeat(43)}`;
    expect(await failure(store.authenticate(stranger))).toBe('unknown_credential');
    expect(await failure(store.authenticate('llk_nope'))).toBe('malformed');
    expect(await failure(store.authenticate(`${key} `))).toBe('malformed');
    expect(await failure(store.authenticate(undefined))).toBe('missing');
  });

  it('refuses a key of another tenant when the request names its tenant', async () => {
    const { key } = await store.create(tenantA, 'svc', ['service']);
    expect(await failure(store.authenticate(key, { tenantId: tenantB }), key)).toBe('wrong_tenant');
    await expect(store.authenticate(key, { tenantId: tenantA })).resolves.toMatchObject({
      tenantId: tenantA,
    });
  });

  it('only gives roles the policy defines, and validates name and tenant', async () => {
    await expect(store.create(tenantA, 'svc', ['superuser'])).rejects.toThrow(
      /roles not defined in the roles policy: superuser/,
    );
    await expect(store.create(tenantA, 'svc', [])).rejects.toBeInstanceOf(ValidationError);
    await expect(store.create(tenantA, '', ['service'])).rejects.toBeInstanceOf(ValidationError);
    await expect(store.create(tenantA, 'a\nb', ['service'])).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.create('tenant.a', 'svc', ['service'])).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.create('tenant a', 'svc', ['service'])).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await store.list(tenantA)).toEqual([]);
  });

  it('reports revoking a key that does not exist as not found', async () => {
    await expect(store.revoke(uuidV7Generator.next())).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.revoke('not-a-uuid')).rejects.toBeInstanceOf(NotFoundError);
  });
});
