import type { LibManifest } from '@ledgerline/kernel';
import type {} from '@ledgerline/identity';
import { filesConfig } from './files.config';
import { filesMigrations } from './projections/files.migrations';

export const FILE_PERMISSIONS = ['file.upload', 'file.read', 'file.remove'] as const;

export const FILE_ACCESS_ACTIONS = [
  /** A file's bytes (or a range of them, in targetIds) were served to a member. */
  'phi.file.downloaded',
  /** A file's thumbnail was served. */
  'phi.file.thumbnail_downloaded',
  /** A file failed its virus scan and was quarantined (the sender is told). */
  'file.quarantined',
  /** The retention job deleted blobs whose data keys were shredded (their keys in targetIds). */
  'files.blobs_deleted',
] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface Permissions extends Record<(typeof FILE_PERMISSIONS)[number], true> {}
  interface AccessActions extends Record<(typeof FILE_ACCESS_ACTIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What files bring to a process (docs/adr/0027); loaded without the rest of the lib. */
export const filesManifest: LibManifest = {
  name: 'files',
  config: filesConfig,
  schema: [{ namespace: 'files', migrations: filesMigrations }],
  permissions: FILE_PERMISSIONS,
  accessActions: FILE_ACCESS_ACTIONS,
};
