import { ConflictError, LedgerlineError } from '@ledgerline/kernel';

/** A service (an API key) has no devices and no preferences: push settings are a person's. */
export class PushForServicesRefusedError extends LedgerlineError {
  readonly code = 'forbidden';
  constructor() {
    super('push devices and preferences are for users and agents, not services');
  }
}

/** Other writers kept moving the user's push stream under every attempt. */
export class PushBusyError extends ConflictError {
  override readonly code = 'push_busy';
  override readonly retryable = true;
  constructor(attempts: number) {
    super(`push settings changed under ${attempts} attempts; try again`);
  }
}
