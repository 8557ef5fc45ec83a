import type { LibManifest } from '@ledgerline/kernel';
import type {} from '@ledgerline/identity';
import { conversationSnapshotMigrations } from './application/conversation-snapshots.migrations';
import { emergencyAccessMigrations } from './application/emergency/emergency-access.migrations';
import { conversationReadModelMigrations } from './projections/conversations.migrations';

export const CONVERSATION_PERMISSIONS = [
  'conversation.create',
  /** Create a conversation naming another principal as its creator (backends acting for users). */
  'conversation.create_on_behalf',
  'conversation.read',
  'message.send',
  'message.edit',
  'message.redact',
  'message.react',
  'receipt.write',
  /** Break-glass grants: emergency access to a conversation one is not a member of. */
  'emergency.grant',
] as const;

/** Reads of PHI (`phi.*`: listed in the accounting of disclosures), and break-glass grants. */
export const CONVERSATION_ACCESS_ACTIONS = [
  'phi.history.read',
  'phi.message.read',
  'phi.thread.read',
  'phi.edit_history.read',
  'phi.conversation_list.read',
  'phi.realtime.sync',
  /** A live feed of a conversation's (or all the caller's conversations') events began. */
  'phi.live.subscribed',
  /** Break-glass access (the reason is sealed in the grant's event). */
  'emergency.access.granted',
  'emergency.access.revoked',
  /** A read under a break-glass grant (beside the read's own `phi.*` record). */
  'emergency.access.used',
] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface Permissions extends Record<(typeof CONVERSATION_PERMISSIONS)[number], true> {}
  interface AccessActions extends Record<(typeof CONVERSATION_ACCESS_ACTIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What conversations brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const conversationsManifest: LibManifest = {
  name: 'conversations',
  schema: [
    { namespace: 'conversations', migrations: conversationReadModelMigrations },
    { namespace: 'conversation-snapshots', migrations: conversationSnapshotMigrations },
    { namespace: 'emergency-access', migrations: emergencyAccessMigrations },
  ],
  permissions: CONVERSATION_PERMISSIONS,
  accessActions: CONVERSATION_ACCESS_ACTIONS,
};
