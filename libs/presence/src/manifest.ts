import type { LibManifest } from '@ledgerline/kernel';
import { presenceConfig } from './presence.config';
import type {} from '@ledgerline/identity';
import { presenceMigrations } from './application/presence.migrations';

export const PRESENCE_PERMISSIONS = ['presence.read', 'presence.write'] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface Permissions extends Record<(typeof PRESENCE_PERMISSIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What presence brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const presenceManifest: LibManifest = {
  name: 'presence',
  config: presenceConfig,
  schema: [{ namespace: 'presence', migrations: presenceMigrations }],
  permissions: PRESENCE_PERMISSIONS,
};
