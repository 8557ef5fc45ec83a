import { LedgerlineError, UnavailableError } from '@ledgerline/kernel';

/**
 * A statement the database refused. Carries the SQLSTATE and, for Ledgerline's own raised
 * exceptions, their DETAIL (which our SQL only ever fills with ids and numbers); never the
 * driver's message, which can quote row values.
 */
export class SqlError extends LedgerlineError {
  readonly code = 'sql_error';
  constructor(
    readonly sqlState: string,
    readonly detail: string | undefined,
    readonly constraint: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`database refused the statement (SQLSTATE ${sqlState})`, options);
  }
}

export class DatabaseUnavailableError extends UnavailableError {
  override readonly code = 'database_unavailable';
}

/** The embedded database directory is open in another process (PGlite has one writer). */
export class DatabaseInUseError extends LedgerlineError {
  readonly code = 'database_in_use';
}

interface DriverError {
  code?: unknown;
  detail?: unknown;
  constraint?: unknown;
  message?: unknown;
}

// SQLSTATE classes that mean "the server or the connection went away", not "your SQL is wrong".
const UNAVAILABLE_STATES = /^(08|53|57P|58)/;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
const NETWORK_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end/i;

/** Turns whatever a driver threw into SqlError or DatabaseUnavailableError. */
export function toSqlError(error: unknown): LedgerlineError {
  if (error instanceof LedgerlineError) return error;
  const e = (error ?? {}) as DriverError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  if (
    (code && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.test(code))) ||
    NETWORK_MESSAGES.test(message)
  ) {
    return new DatabaseUnavailableError('database unavailable', { cause: error });
  }
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    return new SqlError(
      code,
      typeof e.detail === 'string' ? e.detail : undefined,
      typeof e.constraint === 'string' ? e.constraint : undefined,
      { cause: error },
    );
  }
  return new DatabaseUnavailableError('database unavailable', { cause: error });
}
