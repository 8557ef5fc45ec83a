import type { LibManifest } from '@ledgerline/kernel';
import type {} from '@ledgerline/identity';
import { pushMigrations } from './projections/push.migrations';
import { pushConfig } from './push.config';

export const PUSH_PERMISSIONS = [
  /** Register and remove one's own push devices; mute, do-not-disturb. */
  'push.manage',
] as const;

export const PUSH_ACCESS_ACTIONS = [
  /** A push reached the provider (device, event ids, outcome; never content). */
  'push.sent',
  /** A push was given up: its token is dead, the provider refused it, or retries ran out. */
  'push.given_up',
] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface Permissions extends Record<(typeof PUSH_PERMISSIONS)[number], true> {}
  interface AccessActions extends Record<(typeof PUSH_ACCESS_ACTIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What push brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const pushManifest: LibManifest = {
  name: 'push',
  config: pushConfig,
  schema: [{ namespace: 'push', migrations: pushMigrations }],
  permissions: PUSH_PERMISSIONS,
  accessActions: PUSH_ACCESS_ACTIONS,
};
