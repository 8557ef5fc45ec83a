import { AccessDeniedError, AuthenticationError } from '@ledgerline/identity';
import {
  ConflictError,
  LedgerlineError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from '@ledgerline/kernel';

/** Every `error.code` a reply can carry. Stable: clients switch on them (docs/realtime-protocol.md). */
export const REALTIME_ERROR_CODES = [
  /** Not a JSON object, a binary frame, or an envelope without a usable `ref`. */
  'invalid_frame',
  /** `v` is not a protocol version this server speaks. */
  'unsupported_version',
  'unknown_op',
  /** A field is missing, malformed or over a limit (`fields`, or `reason` and `field`). */
  'invalid_input',
  /** An operation other than `hello` before the `hello`. */
  'hello_required',
  /** The operation does not fit the connection's state (`reason`). */
  'invalid_state',
  'forbidden',
  /** `reason`: `conversation_not_found` (or not a member: the same answer), `message_not_found`. */
  'not_found',
  /** The domain refused (`reason`, e.g. `not_author`); `conversation_busy` is retryable. */
  'conflict',
  /** Over a rate limit: retry after `retryAfterMs`. Persisting closes the connection (1008). */
  'rate_limited',
  /** Too many requests of this connection still being handled; retry shortly. */
  'busy',
  /** A dependency (the database, the identity provider) is unavailable; retry. */
  'unavailable',
  /** Stored events failed their integrity check (`reason`: `chain_broken`…): altered in the store. */
  'integrity_failed',
  /** A bug on the server's side, logged under `errorId`. */
  'internal',
] as const;

export type RealtimeErrorCode = (typeof REALTIME_ERROR_CODES)[number];

/** A field that failed validation: its path and the names of the failed rules, never its value. */
export interface FieldProblem {
  readonly field: string;
  readonly constraints: readonly string[];
}

/** The `error` of a refused request, as the client receives it. */
export interface RealtimeErrorBody {
  readonly code: RealtimeErrorCode;
  /** For people; never quotes what the client sent. */
  readonly message: string;
  readonly retryable: boolean;
  readonly reason?: string;
  readonly field?: string;
  readonly fields?: readonly FieldProblem[];
  readonly retryAfterMs?: number;
  readonly errorId?: string;
}

/** A refusal the gateway itself makes about a frame. */
export class RealtimeRequestError extends LedgerlineError {
  override readonly retryable: boolean;
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
    readonly details: Omit<RealtimeErrorBody, 'code' | 'message' | 'retryable'> = {},
    retryable = false,
  ) {
    super(message);
    this.retryable = retryable;
  }
}

/** Fields failed validation. */
export class InvalidInputError extends ValidationError {
  override readonly code = 'invalid_input';
  constructor(readonly problems: readonly FieldProblem[]) {
    super(`invalid input: ${problems.map((p) => p.field).join(', ')}`);
  }
}

/**
 * What a client is told about an error. Ledgerline's errors carry PHI-free messages (ids, counts
 * and field names only), so they are passed on; anything else answers `internal` and is returned
 * as `undefined` for the caller to log under a fresh error id.
 */
export function describeError(error: unknown): RealtimeErrorBody | undefined {
  if (error instanceof RealtimeRequestError) {
    return {
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      ...error.details,
    };
  }
  if (error instanceof InvalidInputError) {
    return {
      code: 'invalid_input',
      message: error.message,
      retryable: false,
      fields: error.problems,
    };
  }
  if (isStackOverflow(error)) {
    // Recursive work on a request (validation, coercion) that ran out of stack: the request nests
    // too deeply. Frames deeper than MAX_JSON_DEPTH are refused before that; this is the backstop.
    return {
      code: 'invalid_frame',
      message: 'the frame nests too deeply to be read',
      retryable: false,
    };
  }
  if (!(error instanceof LedgerlineError)) return undefined;
  if (error instanceof AccessDeniedError) {
    return {
      code: 'forbidden',
      message: error.message,
      retryable: false,
      reason: error.denial,
    };
  }
  if (error instanceof AuthenticationError) {
    // Only reachable through a dependency that re-authenticates; the connection itself is authenticated.
    return error.retryable
      ? { code: 'unavailable', message: error.message, retryable: true, reason: error.reason }
      : { code: 'forbidden', message: error.message, retryable: false, reason: error.reason };
  }
  if (error instanceof ValidationError) {
    return {
      code: 'invalid_input',
      message: error.message,
      retryable: false,
      reason: stringProperty(error, 'problem') ?? error.code,
      ...(error.field ? { field: error.field } : {}),
    };
  }
  if (error instanceof NotFoundError) {
    return { code: 'not_found', message: error.message, retryable: false, reason: error.code };
  }
  if (error instanceof ConflictError) {
    return {
      code: 'conflict',
      message: error.message,
      retryable: error.retryable,
      reason: stringProperty(error, 'reason') ?? error.code,
    };
  }
  if (error instanceof RateLimitedError) {
    return {
      code: 'rate_limited',
      message: error.message,
      retryable: true,
      reason: error.code,
      retryAfterMs: error.retryAfterMs,
    };
  }
  if (error.code === 'integrity_violation') {
    return {
      code: 'integrity_failed',
      message: 'stored events failed their integrity check; nothing of them is sent',
      retryable: false,
      reason: stringProperty(error, 'failure') ?? error.code,
    };
  }
  if (error instanceof UnavailableError || error.retryable) {
    return { code: 'unavailable', message: error.message, retryable: true, reason: error.code };
  }
  return undefined;
}

function stringProperty(error: object, name: string): string | undefined {
  const value = (error as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}
