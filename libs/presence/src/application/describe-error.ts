import { LedgerlineError } from '@ledgerline/kernel';

/** Codes and PHI-free messages of Ledgerline errors; only the class name of anything else. */
export function describeError(error: unknown): Record<string, unknown> {
  return error instanceof LedgerlineError
    ? { code: error.code, message: error.message }
    : { error: error instanceof Error ? error.name : typeof error };
}
