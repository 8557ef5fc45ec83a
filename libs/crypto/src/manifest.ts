import type { LibManifest } from '@ledgerline/kernel';
import type {} from '@ledgerline/identity';
import { cryptoMigrations } from './crypto.migrations';

/** Operator powers over keys (the CLI's `keys` commands). */
export const KEY_PERMISSIONS = ['keys.rotate', 'keys.shred'] as const;

export const KEY_ACCESS_ACTIONS = [
  'keys.rotated',
  'keys.shredded',
  /** A legal hold was placed on a stream or prefix (its reason is sealed in the key stream). */
  'keys.hold.placed',
  'keys.hold.released',
  /** A KEK version was destroyed in the local key ring once nothing was wrapped under it. */
  'keys.kek.retired',
] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface Permissions extends Record<(typeof KEY_PERMISSIONS)[number], true> {}
  interface AccessActions extends Record<(typeof KEY_ACCESS_ACTIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What key management brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const cryptoManifest: LibManifest = {
  name: 'crypto',
  schema: [{ namespace: 'crypto', migrations: cryptoMigrations }],
  permissions: KEY_PERMISSIONS,
  accessActions: KEY_ACCESS_ACTIONS,
};
