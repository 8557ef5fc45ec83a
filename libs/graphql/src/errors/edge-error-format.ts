import { randomUUID } from 'node:crypto';
import { HttpException, type LoggerService } from '@nestjs/common';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AccessDeniedError, AuthenticationError } from '@ledgerline/identity';
import {
  ConflictError,
  LedgerlineError,
  NotFoundError,
  RateLimitedError,
  TooLargeError,
  UnavailableError,
  ValidationError,
} from '@ledgerline/kernel';
import { EdgeError, InvalidArgumentsError, type EdgeErrorCode } from './edge-error';

/** What the server log gets about an error the client only sees as INTERNAL. */
export interface InternalErrorReport {
  readonly errorId: string;
  /** Class names of the error and its causes, outermost first. */
  readonly errors: readonly string[];
  /** The LedgerlineError code, when the error is one the edge does not map. */
  readonly code?: string;
  /** The GraphQL response path (field names and list indices). */
  readonly path?: readonly (string | number)[];
  /** Stack frames only: the first line of a stack repeats the message, which may hold PHI. */
  readonly frames: readonly string[];
}

export interface EdgeErrorFormatOptions {
  /** Drop "Did you mean …?" suggestions, which reveal the schema when introspection is off. */
  readonly hideSchemaDetails: boolean;
  readonly report: (report: InternalErrorReport) => void;
}

interface Described {
  readonly code: EdgeErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The only shape in which errors leave the GraphQL edge: `extensions.code` from
 * {@link EDGE_ERROR_CODES}, a message that never quotes what the client sent, and no stack, no
 * original message of an unexpected error, no `http` or other internals. Anything not recognised
 * becomes INTERNAL with an `errorId`, and is reported (without its message) for the server log.
 *
 * `formatted` is what graphql-js or Apollo made of `error`; only its locations and path are kept.
 */
export function formatEdgeError(
  formatted: GraphQLFormattedError,
  error: unknown,
  options: EdgeErrorFormatOptions,
): GraphQLFormattedError {
  const root = rootCause(error);
  const described = describe(root, formatted, options);
  const where = {
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
  };
  if (described) {
    return {
      message: described.message,
      ...where,
      extensions: { code: described.code, ...described.details },
    };
  }
  const errorId = reportInternalError(root, options.report, formatted.path);
  return {
    message: `Internal server error (${errorId}).`,
    ...where,
    extensions: { code: 'INTERNAL', errorId },
  };
}

/**
 * Hands an unexpected error to `report` as class names, code and stack frames (never its message,
 * which may quote PHI) under a fresh id; returns the id, which the client is given to quote.
 */
export function reportInternalError(
  error: unknown,
  report: EdgeErrorFormatOptions['report'],
  path?: readonly (string | number)[],
): string {
  const errorId = randomUUID();
  report({
    errorId,
    errors: causeNames(error),
    ...(error instanceof LedgerlineError ? { code: error.code } : {}),
    ...(path ? { path } : {}),
    frames: stackFrames(error),
  });
  return errorId;
}

/** Writes reports to a Nest logger (pino in the app), as one structured error line each. */
export function logInternalErrors(logger: LoggerService): EdgeErrorFormatOptions['report'] {
  return (report) => {
    logger.error({ msg: 'GraphQL request failed internally', ...report });
  };
}

/** The error a resolver, a guard or the edge threw, under graphql-js's and Apollo's wrappers. */
function rootCause(error: unknown): unknown {
  let current = error;
  while (
    current instanceof GraphQLError &&
    !(current instanceof EdgeError) &&
    current.originalError !== undefined &&
    current.originalError !== null
  ) {
    current = current.originalError;
  }
  return current;
}

function describe(
  root: unknown,
  formatted: GraphQLFormattedError,
  options: EdgeErrorFormatOptions,
): Described | undefined {
  if (root instanceof EdgeError) {
    return { code: root.code, message: root.message, details: root.details };
  }
  if (root instanceof LedgerlineError) return describeLedgerlineError(root);
  if (root instanceof HttpException) return describeHttpException(root);
  // graphql-js's and Apollo's own errors come before execution, so without a path; a bare
  // GraphQLError at a path was thrown by a resolver, and its message is not ours to trust.
  if (root instanceof GraphQLError && formatted.path === undefined) {
    return describeGraphqlError(root, formatted, options);
  }
  return undefined;
}

/**
 * Ledgerline's errors carry messages written without PHI (ids, counts, field names only; see
 * LedgerlineError), so they are passed on. Errors of a kind not listed here (integrity, key
 * unwrap, SQL, configuration) are our fault and become INTERNAL.
 */
function describeLedgerlineError(error: LedgerlineError): Described | undefined {
  if (error instanceof AuthenticationError || error.code === 'unauthenticated') {
    return {
      code: 'UNAUTHENTICATED',
      message: error.message,
      details: {
        ...(error instanceof AuthenticationError ? { reason: error.reason } : {}),
        ...(error.retryable ? { retryable: true } : {}),
      },
    };
  }
  if (error instanceof AccessDeniedError || error.code === 'forbidden') {
    return {
      code: 'FORBIDDEN',
      message: error.message,
      details:
        error instanceof AccessDeniedError
          ? { reason: error.denial, permission: error.permission }
          : {},
    };
  }
  if (error instanceof TooLargeError) {
    return {
      code: 'PAYLOAD_TOO_LARGE',
      message: error.message,
      details: { ...(error.field ? { field: error.field } : {}), limit: error.limit },
    };
  }
  if (error instanceof ValidationError) {
    return {
      code: 'BAD_USER_INPUT',
      message: error.message,
      details: {
        reason: stringProperty(error, 'problem') ?? error.code,
        ...(error.field ? { field: error.field } : {}),
        ...(error instanceof InvalidArgumentsError ? { fields: error.problems } : {}),
      },
    };
  }
  if (error instanceof NotFoundError) {
    return { code: 'NOT_FOUND', message: error.message, details: { reason: error.code } };
  }
  if (error instanceof ConflictError) {
    // Refusals (e.g. ConversationRefused) carry the domain's own code in `reason`.
    return {
      code: 'CONFLICT',
      message: error.message,
      details: { reason: stringProperty(error, 'reason') ?? error.code },
    };
  }
  if (error instanceof RateLimitedError) {
    return {
      code: 'RATE_LIMITED',
      message: error.message,
      details: { reason: error.code, retryable: true, retryAfterMs: error.retryAfterMs },
    };
  }
  if (error.code === 'integrity_violation') {
    // The ledger's IntegrityError. A message of our own: the edge does not depend on the ledger
    // to know what the error's message may quote.
    const failure = stringProperty(error, 'failure');
    return {
      code: 'INTEGRITY_FAILED',
      message: 'Stored events failed their integrity check; nothing of them is shown.',
      details: { reason: failure && INTEGRITY_FAILURES.has(failure) ? failure : error.code },
    };
  }
  if (error instanceof UnavailableError) {
    return {
      code: 'UNAVAILABLE',
      message: error.message,
      details: { reason: error.code, retryable: true },
    };
  }
  return undefined;
}

/** The ledger's IntegrityFailure values, passed on as `reason`. */
const INTEGRITY_FAILURES: ReadonlySet<string> = new Set([
  'seal_missing',
  'hash_mismatch',
  'chain_broken',
  'stream_truncated',
  'decryption_failed',
]);

const HTTP_STATUSES: Readonly<Record<number, Described>> = {
  400: { code: 'BAD_USER_INPUT', message: 'The request is invalid.' },
  401: { code: 'UNAUTHENTICATED', message: 'Authentication is required.' },
  403: { code: 'FORBIDDEN', message: 'Access denied.' },
  404: { code: 'NOT_FOUND', message: 'Not found.' },
  409: { code: 'CONFLICT', message: 'The request conflicts with the current state.' },
  413: { code: 'PAYLOAD_TOO_LARGE', message: 'The request is too large.' },
  422: { code: 'BAD_USER_INPUT', message: 'The request is invalid.' },
  429: {
    code: 'RATE_LIMITED',
    message: 'Too many requests; retry later.',
    details: { retryable: true },
  },
  503: {
    code: 'UNAVAILABLE',
    message: 'Temporarily unavailable; retry later.',
    details: { retryable: true },
  },
};

/** Nest's HTTP exceptions (thrown by guards and pipes): the status decides, the message is ours. */
function describeHttpException(error: HttpException): Described | undefined {
  return HTTP_STATUSES[error.getStatus()];
}

/**
 * Errors graphql-js and Apollo raise before execution. Their messages can quote the request (a
 * literal, a variable's value, the token a parser stumbled on), so a message is kept only when
 * everything it quotes is a GraphQL name; otherwise a fixed one stands in.
 */
function describeGraphqlError(
  error: GraphQLError,
  formatted: GraphQLFormattedError,
  options: EdgeErrorFormatOptions,
): Described | undefined {
  const code = formatted.extensions?.['code'] ?? error.extensions['code'];
  const message = options.hideSchemaDetails ? withoutSuggestions(error.message) : error.message;
  switch (code) {
    case 'GRAPHQL_PARSE_FAILED':
      return { code, message: 'The operation is not valid GraphQL syntax.' };
    case 'GRAPHQL_VALIDATION_FAILED':
      return {
        code,
        message: quotesNamesOnly(message)
          ? message
          : 'The operation does not match the schema: an argument value has the wrong type.',
      };
    case 'BAD_USER_INPUT': {
      const variable = /^Variable "(\$[_A-Za-z][_0-9A-Za-z]*)"/.exec(message)?.[1];
      return {
        code,
        message: quotesNamesOnly(message)
          ? message
          : variable
            ? `Variable "${variable}" has a value that does not match its type.`
            : 'A value does not match its type.',
        ...(variable ? { details: { field: variable } } : {}),
      };
    }
    case 'BAD_REQUEST':
    case 'OPERATION_RESOLUTION_FAILURE':
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_SUPPORTED':
      // Apollo's own fixed texts; an operation name it quotes is still a name.
      return {
        code: 'BAD_REQUEST',
        message:
          !message.includes('"') || quotesNamesOnly(message)
            ? message
            : 'The request is not a GraphQL request this server accepts.',
      };
    default:
      return undefined;
  }
}

const NAME = /^\$?[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?$/;
const TYPE_REFERENCE = /^\[*[_A-Za-z][_0-9A-Za-z]*!?(\]!?)*$/;

/**
 * True when every quoted part of a graphql-js message is a name or a type reference, and nothing
 * outside the quotes is a number or introduces a value ("found …", "… value …").
 */
function quotesNamesOnly(message: string): boolean {
  let unsafe = false;
  const rest = message.replace(/"([^"]*)"/g, (_match, inner: string) => {
    if (!NAME.test(inner) && !TYPE_REFERENCE.test(inner)) unsafe = true;
    return '';
  });
  return (
    !unsafe &&
    !rest.includes('"') &&
    !/\d/.test(rest) &&
    !/\b(found|values?|represent)\b/i.test(rest)
  );
}

function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean .*$/s, '');
}

function stringProperty(error: object, name: string): string | undefined {
  const value = (error as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function causeNames(error: unknown): string[] {
  const names: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && names.length < 8) {
    names.push(current.name);
    current = current.cause;
  }
  if (names.length === 0) names.push(typeof error);
  return names;
}

function stackFrames(error: unknown): string[] {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return [];
  return error.stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '))
    .slice(0, 20);
}
