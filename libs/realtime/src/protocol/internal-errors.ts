import { randomUUID } from 'node:crypto';
import { LedgerlineError } from '@ledgerline/kernel';

/** What the server log gets about an error a client only sees as `internal`. */
export interface InternalErrorReport {
  readonly errorId: string;
  /** Class names of the error and its causes, outermost first. */
  readonly errors: readonly string[];
  readonly code?: string;
  /** Stack frames only: a stack's first line repeats the message, which may hold PHI. */
  readonly frames: readonly string[];
}

/** Describes an unexpected error without its message, under a fresh id the client is given. */
export function internalErrorReport(error: unknown): InternalErrorReport {
  const errors: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    errors.push(current instanceof Error ? current.name : typeof current);
    current = current instanceof Error ? current.cause : undefined;
  }
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  return {
    errorId: randomUUID(),
    errors,
    ...(error instanceof LedgerlineError ? { code: error.code } : {}),
    frames: stack
      .split('\n')
      .filter((line) => line.trimStart().startsWith('at '))
      .slice(0, 10)
      .map((line) => line.trim()),
  };
}
