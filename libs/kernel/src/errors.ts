/**
 * Every error Ledgerline raises on purpose. `code` is stable and machine-readable (clients and
 * tests match on it); `message` is for people and must never contain PHI: ids, counts and names
 * of fields only, never values a user typed.
 */
export abstract class LedgerlineError extends Error {
  abstract readonly code: string;
  /** True when the same request may succeed if retried unchanged (e.g. the database restarted). */
  readonly retryable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * What a log line may say about an error: a Ledgerline error's code and message (which never
 * carry PHI), and only the class name of anything else (whose message might quote data).
 */
export function describeError(error: unknown): Record<string, unknown> {
  return error instanceof LedgerlineError
    ? { code: error.code, message: error.message }
    : { error: error instanceof Error ? error.name : typeof error };
}

/** Input that can never succeed as sent. */
export class ValidationError extends LedgerlineError {
  readonly code: string = 'invalid_input';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Input larger than a configured cap. */
export class TooLargeError extends ValidationError {
  override readonly code = 'too_large';
  constructor(
    what: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${what} is ${size} bytes, over the limit of ${limit}`, what);
  }
}

/** The state changed under the caller (optimistic concurrency). */
export class ConflictError extends LedgerlineError {
  readonly code: string = 'conflict';
}

export class NotFoundError extends LedgerlineError {
  readonly code: string = 'not_found';
}

/** A dependency (database, KMS, …) is unreachable or overloaded. Safe to retry. */
export class UnavailableError extends LedgerlineError {
  readonly code: string = 'unavailable';
  override readonly retryable = true;
}

/** Configuration is missing or malformed; raised once, at start-up. */
export class ConfigError extends LedgerlineError {
  readonly code = 'config_invalid';
  constructor(readonly problems: readonly { variable: string; problem: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n')}`,
    );
  }
}

/** Too many requests of one kind from one caller; the same request may succeed after `retryAfterMs`. */
export class RateLimitedError extends LedgerlineError {
  readonly code: string = 'rate_limited';
  override readonly retryable = true;
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}
