import type { LibManifest } from '@ledgerline/kernel';
import type {} from '@ledgerline/identity';
import { callSignalMigrations } from './application/calls.migrations';
import { callsConfig } from './calls.config';
import { callReadModelMigrations } from './projections/calls.migrations';

export const CALL_PERMISSIONS = [
  /** Start a call in a conversation one is a member of. */
  'call.start',
  /** Answer, decline, join, leave and signal in calls of one's conversations. */
  'call.join',
  /** Send media in a call; without it a participant may only listen. */
  'call.speak',
] as const;

export const CALL_ACCESS_ACTIONS = [
  /** A device joined a call (who, which device, from where). */
  'call.joined',
  /** A device left a call (why; the call's events hold when). */
  'call.left',
  /** An SFU media session ended: participant, device, bytes each way, the remote address. */
  'call.media',
  /** The SFU engine failed under a call. */
  'call.engine_failed',
] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface Permissions extends Record<(typeof CALL_PERMISSIONS)[number], true> {}
  interface AccessActions extends Record<(typeof CALL_ACCESS_ACTIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What calls bring to a process (docs/adr/0027); loaded without the rest of the lib. */
export const callsManifest: LibManifest = {
  name: 'calls',
  config: callsConfig,
  schema: [
    { namespace: 'calls', migrations: callReadModelMigrations },
    { namespace: 'call-signals', migrations: callSignalMigrations },
  ],
  permissions: CALL_PERMISSIONS,
  accessActions: CALL_ACCESS_ACTIONS,
};
