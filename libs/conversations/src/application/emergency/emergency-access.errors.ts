import { ConflictError, NotFoundError } from '@ledgerline/kernel';

/** No grant with this id in the caller's tenant. */
export class EmergencyGrantNotFoundError extends NotFoundError {
  override readonly code = 'emergency_grant_not_found';
  constructor(readonly grantId: string) {
    super(`no emergency access grant ${grantId}`);
  }
}

/** The grant cannot change as asked (`reason`: `already_revoked`, `expired`, `already_a_member`). */
export class EmergencyGrantRefusedError extends ConflictError {
  override readonly code = 'emergency_grant_refused';
  constructor(
    readonly reason: 'already_revoked' | 'expired' | 'already_a_member' | 'no_such_conversation',
  ) {
    super(`emergency access refused: ${reason}`);
  }
}
