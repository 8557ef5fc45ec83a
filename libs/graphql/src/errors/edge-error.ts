import { GraphQLError, type ASTNode } from 'graphql';
import { ValidationError } from '@ledgerline/kernel';

/**
 * Every `extensions.code` a client of the GraphQL edge can see. Stable: clients branch on them, so
 * a code is never renamed or reused.
 */
export const EDGE_ERROR_CODES = [
  /** No credential, or one that did not verify (`reason` says why). */
  'UNAUTHENTICATED',
  /** Authenticated, but not allowed (`reason`: missing_permission or other_tenant). */
  'FORBIDDEN',
  /** An argument is wrong as sent (`field`, and `fields` for several). */
  'BAD_USER_INPUT',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
  /** The state does not allow it (`reason`: the domain's refusal code). */
  'CONFLICT',
  /** A dependency is down or the subscriber fell behind; `retryable: true`. */
  'UNAVAILABLE',
  'RATE_LIMITED',
  /** Our fault. The response carries an `errorId` to quote; details are only in the server log. */
  'INTERNAL',
  /** The operation nests deeper than allowed (`limit`); nothing was executed. */
  'QUERY_TOO_DEEP',
  /** The operation costs more than allowed (`limit`, `cost`); nothing was executed. */
  'QUERY_TOO_COMPLEX',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  /**
   * The request is not a GraphQL request this server accepts (method, body, content type), or its
   * `operationName` picks no operation of the document.
   */
  'BAD_REQUEST',
  /** The operation runs more mutations (aliases count) than one request may (`limit`); none ran. */
  'TOO_MANY_MUTATIONS',
  /**
   * Stored events failed their integrity check (`reason`: `chain_broken`, `stream_truncated`…):
   * they were altered or removed in the store, and nothing of them is shown. Not retryable.
   */
  'INTEGRITY_FAILED',
] as const;

export type EdgeErrorCode = (typeof EDGE_ERROR_CODES)[number];

export interface EdgeErrorOptions {
  /** Extra `extensions` for the client: ids, names and numbers only. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** HTTP status when the error ends the request before execution. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly nodes?: readonly ASTNode[];
  readonly cause?: Error;
}

/**
 * An error the edge itself raises, with a message written here (never quoting input). The error
 * formatter passes its message and details to the client as they are.
 */
export class EdgeError extends GraphQLError {
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    readonly code: EdgeErrorCode,
    message: string,
    options: EdgeErrorOptions = {},
  ) {
    const http =
      options.status === undefined
        ? {}
        : {
            http: {
              status: options.status,
              headers: new Map(Object.entries(options.headers ?? {})),
            },
          };
    super(message, {
      ...(options.nodes ? { nodes: options.nodes } : {}),
      ...(options.cause ? { originalError: options.cause } : {}),
      extensions: { code, ...options.details, ...http },
    });
    this.name = 'EdgeError';
    this.details = options.details ?? {};
  }
}

/** One argument field class-validator refused, and the names of the constraints it broke. */
export interface ArgumentProblem {
  /** Dotted path from the argument: `input.recipients.0.id`. */
  readonly field: string;
  /** Constraint names (`isEmail`, `maxLength`, `whitelistValidation`), never their messages. */
  readonly constraints: readonly string[];
}

/**
 * Arguments refused by the edge's validation pipe. Names fields and constraints only: the values,
 * and class-validator's messages (which may interpolate them), are never kept.
 *
 * `statusCode` lets Nest's default HTTP exception handler answer 400 with this (safe) message when
 * the global pipe refuses an HTTP controller's body, instead of a bare 500.
 */
export class InvalidArgumentsError extends ValidationError {
  readonly statusCode = 400;
  constructor(readonly problems: readonly ArgumentProblem[]) {
    super(
      `invalid input: ${problems.map((p) => `${p.field} (${p.constraints.join(', ')})`).join('; ')}`,
      problems[0]?.field,
    );
  }

  /** The same problems, with their paths prefixed by the argument's name. */
  within(argument: string): InvalidArgumentsError {
    return new InvalidArgumentsError(
      this.problems.map((p) => ({ ...p, field: p.field ? `${argument}.${p.field}` : argument })),
    );
  }
}
