import type { LibManifest } from '@ledgerline/kernel';
import { turnConfig } from './turn.config';
import type {} from '@ledgerline/identity';

export const TURN_ACCESS_ACTIONS = [
  /** A TURN allocation ended: who relayed, from where, for how long. */
  'turn.allocation',
] as const;

// Names what this lib checks and records in identity's types (see Permissions, AccessActions).
/* eslint-disable @typescript-eslint/no-empty-object-type -- augmentation adds the members */
declare module '@ledgerline/identity' {
  interface AccessActions extends Record<(typeof TURN_ACCESS_ACTIONS)[number], true> {}
}
/* eslint-enable @typescript-eslint/no-empty-object-type */

/** What TURN brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const turnManifest: LibManifest = {
  name: 'turn',
  config: turnConfig,
  accessActions: TURN_ACCESS_ACTIONS,
};
