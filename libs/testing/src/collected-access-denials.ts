import type { AccessDenied, AccessDeniedRecorder } from '@ledgerline/identity';

/**
 * An AccessDeniedRecorder that keeps denials in memory, for tests only (the real one is
 * libs/audit's, which appends audit events). It records for real (tests assert on `denials`) and
 * can be made to fail, to test what happens when the audit trail cannot be written. Never wire it into an app: its records die with the process.
 */
export class CollectedAccessDenials implements AccessDeniedRecorder {
  readonly denials: AccessDenied[] = [];
  private failure: Error | undefined;

  record(denied: AccessDenied): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.denials.push(denied);
    return Promise.resolve();
  }

  /** Makes every following `record` reject with `error` (undefined: succeed again). */
  failWith(error: Error | undefined): void {
    this.failure = error;
  }
}
