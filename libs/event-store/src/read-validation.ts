import { ValidationError } from '@ledgerline/kernel';

const MAX_READ = 10_000;
const DEFAULT_READ = 1_000;

/** The page size of a read: default 1,000, at most 10,000, on every adapter alike. */
export function readCount(maxCount: number | undefined): number {
  const n = maxCount ?? DEFAULT_READ;
  if (!Number.isInteger(n) || n < 1 || n > MAX_READ) {
    throw new ValidationError(`maxCount must be an integer from 1 to ${MAX_READ}`, 'maxCount');
  }
  return n;
}

export function assertFromRevision(from: bigint | 'start' | 'end'): void {
  if (typeof from === 'bigint' && from < 0n) {
    throw new ValidationError('fromRevision must not be negative', 'fromRevision');
  }
}
