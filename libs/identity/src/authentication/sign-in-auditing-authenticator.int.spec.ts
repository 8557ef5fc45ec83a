import { ManualClock, UnavailableError, uuidV7Generator } from '@ledgerline/kernel';
import {
  CollectedAccessRecords,
  availableDatabases,
  openTestDatabase,
  type TestDatabase,
} from '@ledgerline/testing';
import { ApiKeyStore } from '../api-keys/api-key-store';
import { identityManifest } from '../manifest';
import { AuthenticationError } from '../identity.errors';
import {
  DEPLOYMENT_AUDIT_TENANT,
  SignInAuditingAuthenticator,
} from './sign-in-auditing-authenticator';

const origin = { transport: 'http', clientAddress: '192.0.2.9', userAgent: 'curl/8' } as const;

for (const kind of availableDatabases()) {
  describe(`sign-in records on ${kind}`, () => {
    let db: TestDatabase;
    let keys: ApiKeyStore;
    let clock: ManualClock;
    beforeAll(async () => {
      db = await openTestDatabase(kind, [identityManifest]);
      clock = new ManualClock('2026-11-25T09:00:00.000Z');
      keys = ApiKeyStore.open(db.client, {
        clock,
        ids: uuidV7Generator,
        definesRole: () => true,
      });
    });
    afterAll(async () => {
      await db?.close();
    });

    it('records a credential’s first sign-in on this node, once, and returns the origin', async () => {
      const log = new CollectedAccessRecords();
      const auth = new SignInAuditingAuthenticator(keys, log, { clock });
      const { id, key } = await keys.create('clinic-1', 'backend', ['service']);
      const principal = await auth.authenticate(key, undefined, origin);
      expect(principal).toMatchObject({ id, tenantId: 'clinic-1', origin });
      await auth.authenticate(key, undefined, origin);
      expect(log.records).toEqual([
        {
          tenantId: 'clinic-1',
          actor: { id, kind: 'service', roles: ['service'], credentialId: id },
          action: 'signin.succeeded',
          outcome: 'allowed',
          targetIds: [id],
          subjectUserIds: [],
          origin,
        },
      ]);
      expect(JSON.stringify(log.records)).not.toContain(key);
    });

    it('records every refused credential with its reason; a missing one is no attempt', async () => {
      const log = new CollectedAccessRecords();
      const auth = new SignInAuditingAuthenticator(keys, log, { clock });
      const { key } = await keys.create('clinic-1', 'backend', ['service']);
      const forged = `${key.slice(0, -4)}AAAA`;
      await expect(auth.authenticate(forged, undefined, origin)).rejects.toBeInstanceOf(
        AuthenticationError,
      );
      await expect(auth.authenticate(undefined, undefined, origin)).rejects.toBeInstanceOf(
        AuthenticationError,
      );
      expect(log.records).toEqual([
        {
          tenantId: DEPLOYMENT_AUDIT_TENANT,
          actor: { id: 'anonymous', kind: 'anonymous', roles: [] },
          action: 'signin.failed',
          outcome: 'failed',
          reason: expect.any(String) as string,
          targetIds: [],
          subjectUserIds: [],
          origin,
        },
      ]);
      expect(JSON.stringify(log.records)).not.toContain(forged);
    });

    it('fails closed: a sign-in that cannot be recorded does not authenticate', async () => {
      const log = new CollectedAccessRecords();
      log.failWith(new UnavailableError('audit down'));
      const auth = new SignInAuditingAuthenticator(keys, log, { clock });
      const { key } = await keys.create('clinic-1', 'backend', ['service']);
      await expect(auth.authenticate(key, undefined, origin)).rejects.toBeInstanceOf(
        UnavailableError,
      );
      log.failWith(undefined);
      await expect(auth.authenticate(key, undefined, origin)).resolves.toMatchObject({
        tenantId: 'clinic-1',
      });
      expect(log.records).toHaveLength(1);
    });
  });
}
