import { ConflictError, NotFoundError, ValidationError } from '@ledgerline/kernel';

export type PushInputProblem = 'invalid_format' | 'invalid_value' | 'too_long' | 'in_the_past';

/** Input that can never be right (a token of the wrong shape, an unknown platform). Names the field only, never the value. */
export class InvalidPushInput extends ValidationError {
  override readonly code = 'invalid_push_input';
  constructor(
    field: string,
    readonly problem: PushInputProblem,
  ) {
    super(`${field}: ${problem}`, field);
  }
}

/** Why a push command was refused. Stable codes: the edge and clients match on them. */
export const PushRefusalReason = {
  /** The user holds as many devices as allowed; remove one first. */
  TooManyDevices: 'too_many_devices',
  /** The user mutes as many conversations as allowed. */
  TooManyMutes: 'too_many_mutes',
} as const;

export type PushRefusalReason = (typeof PushRefusalReason)[keyof typeof PushRefusalReason];

/** A push command the state does not allow. CONFLICT at the edge, with `reason`. */
export class PushRefused extends ConflictError {
  override readonly code = 'push_refused';
  constructor(readonly reason: PushRefusalReason) {
    super(`push: ${reason}`);
  }
}

/**
 * No such device among the caller's own: the same answer whether it never existed or is another
 * user's, so a device id tells nobody whose it is.
 */
export class PushDeviceNotFoundError extends NotFoundError {
  override readonly code = 'push_device_not_found';
  constructor() {
    super('no such device among the caller’s');
  }
}
