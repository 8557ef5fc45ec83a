import type { LibManifest } from '@ledgerline/kernel';
import { identityConfig } from './identity.config';
import { IDENTITY_ACCESS_ACTIONS } from './access/access-recorder.port';
import { IDENTITY_PERMISSIONS } from './access/permissions';
import { identityMigrations } from './api-keys/identity.migrations';

/** What identity brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const identityManifest: LibManifest = {
  name: 'identity',
  config: identityConfig,
  schema: [{ namespace: 'identity', migrations: identityMigrations }],
  permissions: IDENTITY_PERMISSIONS,
  accessActions: IDENTITY_ACCESS_ACTIONS,
};
