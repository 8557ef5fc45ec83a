import type { AccessRecord } from '@ledgerline/identity';
import { IntegrityError } from '@ledgerline/ledger';
import type { OpenedContent } from './sealed-contents';

/**
 * The access records of a read of PHI, by what it really disclosed: the messages shown as
 * `allowed`, and those whose event failed its integrity check (never shown, marked in the answer)
 * as `failed` with the reason `integrity_failed`, so the accounting of disclosures lists only what
 * a reader saw. `record` is the allowed record as the read would write it.
 */
export function readOutcomeRecords(
  record: AccessRecord,
  broken: ReadonlySet<string>,
): AccessRecord[] {
  if (broken.size === 0) return [record];
  const shown = record.targetIds.filter((id) => !broken.has(id));
  const failed: AccessRecord = {
    ...record,
    outcome: 'failed',
    reason: 'integrity_failed',
    targetIds: record.targetIds.filter((id) => broken.has(id)),
  };
  return shown.length === 0 ? [failed] : [{ ...record, targetIds: shown }, failed];
}

/**
 * The record of a read that failed as a whole on an integrity check (a broken chain, a cut tail):
 * `failed`, with the failure as its reason and nothing disclosed. Undefined for any other error
 * (the read disclosed nothing and there is nothing of integrity to record).
 */
export function failedReadRecord(record: AccessRecord, error: unknown): AccessRecord | undefined {
  if (!(error instanceof IntegrityError)) return undefined;
  return { ...record, outcome: 'failed', reason: error.failure };
}

/** Ids of the rows whose text event (at `revisionOf(row)`) failed its own seal. */
export function brokenIds<R>(
  rows: readonly R[],
  opened: ReadonlyMap<bigint, OpenedContent>,
  idOf: (row: R) => string,
  revisionOf: (row: R) => bigint | undefined,
): Set<string> {
  const out = new Set<string>();
  for (const row of rows) {
    const revision = revisionOf(row);
    if (revision !== undefined && opened.get(revision)?.status === 'integrity_failed') {
      out.add(idOf(row));
    }
  }
  return out;
}
