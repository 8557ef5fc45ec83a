import type { AccessRecord, AccessRecorder } from '@ledgerline/identity';

/**
 * An AccessRecorder that keeps records in memory, for tests only (the real one is libs/audit's,
 * which appends audit events). It records for real (tests assert on `records` and `denials`) and
 * can be made to fail, to test what happens when the audit trail cannot be written. Never wire it
 * into an app: its records die with the process.
 */
export class CollectedAccessRecords implements AccessRecorder {
  readonly records: AccessRecord[] = [];
  private failure: Error | undefined;

  record(record: AccessRecord): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.records.push(record);
    return Promise.resolve();
  }

  /** The `access.denied` records, in order. */
  get denials(): AccessRecord[] {
    return this.records.filter((r) => r.action === 'access.denied');
  }

  clear(): void {
    this.records.length = 0;
  }

  /** Makes every following `record` reject with `error` (undefined: succeed again). */
  failWith(error: Error | undefined): void {
    this.failure = error;
  }
}
