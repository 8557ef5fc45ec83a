import type { LibManifest } from '@ledgerline/kernel';
import { auditConfig } from './audit.config';
import type {} from '@ledgerline/identity';
import { checkpointMigrations } from './checkpoints/checkpoint.migrations';
import { auditLogMigrations } from './projection/audit-log.migrations';

export const AUDIT_PERMISSIONS = [
  'audit.read',
  'audit.export',
  'audit.replay',
  /** Message content in the auditor's history, with a stated reason (minimum necessary). */
  'audit.content',
] as const;

export const AUDIT_ACCESS_ACTIONS = [
  'audit.exported',
  'audit.searched',
  'audit.disclosures.read',
  'audit.conversation_history.read',
  'audit.replayed',
] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface Permissions extends Record<(typeof AUDIT_PERMISSIONS)[number], true> {}
  interface AccessActions extends Record<(typeof AUDIT_ACCESS_ACTIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What the audit log brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const auditManifest: LibManifest = {
  name: 'audit',
  config: auditConfig,
  schema: [
    { namespace: 'audit-log', migrations: auditLogMigrations },
    { namespace: 'audit-checkpoints', migrations: checkpointMigrations },
  ],
  permissions: AUDIT_PERMISSIONS,
  accessActions: AUDIT_ACCESS_ACTIONS,
};
