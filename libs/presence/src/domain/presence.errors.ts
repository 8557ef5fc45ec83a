import { ConflictError, ValidationError } from '@ledgerline/kernel';

/** Why a presence command was refused. Stable codes: the edge and clients match on them. */
export const PresenceRefusalReason = {
  /** Away and back are said by a connected client; with no live connection anywhere there is none. */
  NotConnected: 'not_connected',
  /** Services (API keys) have no presence and send no typing indicators. */
  NoPresence: 'no_presence',
} as const;

export type PresenceRefusalReason =
  (typeof PresenceRefusalReason)[keyof typeof PresenceRefusalReason];

/** A presence command the state does not allow. CONFLICT at the edge, with `reason`. */
export class PresenceRefused extends ConflictError {
  override readonly code = 'presence_refused';
  constructor(readonly reason: PresenceRefusalReason) {
    super(`presence: ${reason}`);
  }
}

export type PresenceInputProblem = 'invalid_format' | 'invalid_value';

/** Input that can never be right (a malformed id, an unknown status). Names the field only. */
export class InvalidPresenceInput extends ValidationError {
  override readonly code = 'invalid_presence_input';
  constructor(
    field: string,
    readonly problem: PresenceInputProblem,
  ) {
    super(`${field}: ${problem}`, field);
  }
}
