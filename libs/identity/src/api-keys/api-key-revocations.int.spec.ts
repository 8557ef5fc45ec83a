import { ManualClock, uuidV7Generator } from '@ledgerline/kernel';
import { identityManifest } from '../manifest';
import { availableDatabases, openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import { ApiKeyRevocations } from './api-key-revocations';
import { ApiKeyStore } from './api-key-store';

// Issue 10, item 10: a revoked API key kept its open connections. Real PostgreSQL notifications
// (or PGlite's, in one process) reach the watchers of the key; a listener that reconnects
// re-checks what it watches.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function revokedSignal(): { fired: Promise<void>; onRevoked: () => void; count: () => number } {
  let count = 0;
  let resolve!: () => void;
  const fired = new Promise<void>((r) => (resolve = r));
  return {
    fired,
    onRevoked: () => {
      count += 1;
      resolve();
    },
    count: () => count,
  };
}

describe.each(availableDatabases())('ApiKeyRevocations on %s', (kind) => {
  let db: TestDatabase;
  let store: ApiKeyStore;
  let revocations: ApiKeyRevocations;
  const clock = new ManualClock('2026-03-01T09:00:00.000Z');

  beforeAll(async () => {
    db = await openTestDatabase(kind, [identityManifest]);
    store = ApiKeyStore.open(db.client, {
      clock,
      ids: uuidV7Generator,
      definesRole: () => true,
    });
    revocations = new ApiKeyRevocations(db.client);
  });

  afterAll(async () => {
    await revocations.stop();
    await db.close();
  });

  it('calls the watchers of a key once it is revoked, and no one else', async () => {
    const watched = await store.create('tenant-r', 'backend', ['service']);
    const other = await store.create('tenant-r', 'other', ['service']);
    const revoked = revokedSignal();
    const bystander = revokedSignal();
    revocations.watch(watched.id, revoked.onRevoked);
    revocations.watch(other.id, bystander.onRevoked);
    // Let the listener start (it re-checks once it listens: nothing is revoked yet).
    await sleep(100);
    await store.revoke(watched.id);
    await revoked.fired;
    await store.revoke(watched.id); // announced again: the watcher has already gone
    await sleep(100);
    expect(revoked.count()).toBe(1);
    expect(bystander.count()).toBe(0);
  });

  it('tells a watch registered just after a revocation at once', async () => {
    const key = await store.create('tenant-r', 'late', ['service']);
    const first = revokedSignal();
    revocations.watch(key.id, first.onRevoked);
    await store.revoke(key.id);
    await first.fired;
    const late = revokedSignal();
    revocations.watch(key.id, late.onRevoked);
    await late.fired;
    expect(late.count()).toBe(1);
  });

  it('stops calling a watcher that stopped watching', async () => {
    const key = await store.create('tenant-r', 'gone', ['service']);
    const stopped = revokedSignal();
    const stop = revocations.watch(key.id, stopped.onRevoked);
    const still = revokedSignal();
    revocations.watch(key.id, still.onRevoked);
    stop();
    await store.revoke(key.id);
    await still.fired;
    expect(stopped.count()).toBe(0);
  });

  (kind === 'postgres' ? it : it.skip)(
    `re-checks every watched key when its listening connection comes back${kind === 'postgres' ? '' : ' [PostgreSQL only: PGlite has no connection to lose]'}`,
    async () => {
      const key = await store.create('tenant-r', 'missed', ['service']);
      const revoked = revokedSignal();
      revocations.watch(key.id, revoked.onRevoked);
      await sleep(100);
      // Revoked without a notification (as if it was sent while the listener was away)…
      await db.client.query(`update ll_api_keys set revoked_at = now() where id = $1`, [key.id]);
      await sleep(200);
      expect(revoked.count()).toBe(0);
      // …then the listener's connection drops: it reconnects and re-checks.
      const killed = await db.client.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
         where pid <> pg_backend_pid() and query ilike 'listen ll_api_key_revoked%'`,
      );
      expect(killed[0]!.n).toBeGreaterThan(0);
      await revoked.fired;
      expect(revoked.count()).toBe(1);
    },
  );
});
