import { ForbiddenException, NotFoundException } from '@nestjs/common';
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
import { EdgeError, InvalidArgumentsError } from './edge-error';
import { formatEdgeError, type InternalErrorReport } from './edge-error-format';

const PHI = 'Jane Roe, MRN 00451234, SSN 123-45-6789';
const PHI_PATTERN = /Jane|Roe|00451234|123-45-6789/;

class Refused extends ConflictError {
  override readonly code = 'conversation_refused';
  readonly reason = 'not_a_member';
}
class IntegrityBroken extends LedgerlineError {
  readonly code = 'integrity_violation';
  readonly failure = 'chain_broken';
}

/** As graphql-js hands a resolver's error to the formatter: located, at a path. */
function thrownByResolver(error: Error): { formatted: GraphQLFormattedError; error: GraphQLError } {
  const located = new GraphQLError(error.message, { originalError: error, path: ['field'] });
  return { formatted: located.toJSON(), error: located };
}

function format(error: Error, hideSchemaDetails = false) {
  const reports: InternalErrorReport[] = [];
  const { formatted, error: located } = thrownByResolver(error);
  const result = formatEdgeError(formatted, located, {
    hideSchemaDetails,
    report: (r) => reports.push(r),
  });
  return { result, reports };
}

/** As Apollo hands its own pre-execution errors over: no path, a code in extensions. */
function formatFramework(message: string, code: string, hideSchemaDetails = false) {
  const error = new GraphQLError(message, { extensions: { code } });
  return formatEdgeError(error.toJSON(), error, { hideSchemaDetails, report: () => {} });
}

describe('formatEdgeError', () => {
  it('maps Ledgerline errors to stable codes with their safe details', () => {
    expect(format(new AuthenticationError('expired')).result).toEqual({
      message: 'authentication failed: the token has expired',
      path: ['field'],
      extensions: { code: 'UNAUTHENTICATED', reason: 'expired' },
    });
    expect(format(new AuthenticationError('keys_unavailable')).result.extensions).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'keys_unavailable',
      retryable: true,
    });
    expect(
      format(new AccessDeniedError('audit.export', 'missing_permission', true)).result.extensions,
    ).toEqual({ code: 'FORBIDDEN', reason: 'missing_permission', permission: 'audit.export' });
    expect(format(new ValidationError('title: too_long', 'title')).result.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'invalid_input',
      field: 'title',
    });
    expect(format(new TooLargeError('attachment', 2048, 1024)).result.extensions).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'attachment',
      limit: 1024,
    });
    expect(format(new NotFoundError('no conversation c-1')).result.extensions).toEqual({
      code: 'NOT_FOUND',
      reason: 'not_found',
    });
    expect(format(new Refused('conversation c-1: refused')).result.extensions).toEqual({
      code: 'CONFLICT',
      reason: 'not_a_member',
    });
    expect(format(new ConflictError('stream moved')).result.extensions).toEqual({
      code: 'CONFLICT',
      reason: 'conflict',
    });
    expect(format(new UnavailableError('database unavailable')).result.extensions).toEqual({
      code: 'UNAVAILABLE',
      reason: 'unavailable',
      retryable: true,
    });
    expect(format(new RateLimitedError('slow down', 1500)).result.extensions).toEqual({
      code: 'RATE_LIMITED',
      reason: 'rate_limited',
      retryable: true,
      retryAfterMs: 1500,
    });
  });

  it('lists each refused argument field with its constraint names', () => {
    const error = new InvalidArgumentsError([
      { field: 'text', constraints: ['maxLength'] },
      { field: 'email', constraints: ['isEmail'] },
    ]).within('input');
    expect(format(error).result).toEqual({
      message: 'invalid input: input.text (maxLength); input.email (isEmail)',
      path: ['field'],
      extensions: {
        code: 'BAD_USER_INPUT',
        reason: 'invalid_input',
        field: 'input.text',
        fields: [
          { field: 'input.text', constraints: ['maxLength'] },
          { field: 'input.email', constraints: ['isEmail'] },
        ],
      },
    });
  });

  it('turns anything unknown into INTERNAL, reporting classes and frames but not the message', () => {
    const cause = new Error(`lookup failed for ${PHI}`);
    for (const error of [new TypeError(`cannot read ${PHI}`), new Error('wrapped', { cause })]) {
      const { result, reports } = format(error);
      expect(result.extensions?.['code']).toBe('INTERNAL');
      expect(result.message).toMatch(/^Internal server error \([0-9a-f-]{36}\)\.$/);
      expect(reports).toHaveLength(1);
      expect(reports[0]!.errorId).toBe(result.extensions?.['errorId']);
      expect(reports[0]!.frames.length).toBeGreaterThan(0);
      expect(JSON.stringify([result, reports])).not.toMatch(PHI_PATTERN);
    }
  });

  it('answers a failed integrity check with its own code and reason, in a message of its own', () => {
    const { result, reports } = format(new IntegrityBroken(`hash mismatch near ${PHI}`));
    expect(result.extensions).toMatchObject({ code: 'INTEGRITY_FAILED', reason: 'chain_broken' });
    expect(result.message).toBe(
      'Stored events failed their integrity check; nothing of them is shown.',
    );
    expect(reports).toHaveLength(0);
    expect(JSON.stringify(result)).not.toMatch(PHI_PATTERN);
  });

  it('does not trust a bare GraphQLError a resolver threw', () => {
    const { result } = format(
      new GraphQLError(`patient ${PHI}`, { extensions: { code: 'BAD_USER_INPUT' } }),
    );
    expect(result.extensions?.['code']).toBe('INTERNAL');
    expect(JSON.stringify(result)).not.toMatch(PHI_PATTERN);
  });

  it('passes the edge’s own errors through, without their http hints', () => {
    const error = new EdgeError('QUERY_TOO_DEEP', 'too deep', {
      details: { limit: 8 },
      status: 400,
    });
    expect(
      formatEdgeError(error.toJSON(), error, { hideSchemaDetails: false, report: () => {} }),
    ).toEqual({ message: 'too deep', extensions: { code: 'QUERY_TOO_DEEP', limit: 8 } });
  });

  it('maps Nest HTTP exceptions by status, with messages of its own', () => {
    expect(format(new ForbiddenException(`no access to ${PHI}`)).result).toEqual({
      message: 'Access denied.',
      path: ['field'],
      extensions: { code: 'FORBIDDEN' },
    });
    expect(format(new NotFoundException()).result.extensions).toEqual({ code: 'NOT_FOUND' });
  });

  it('keeps graphql-js messages that quote only names, and replaces those that quote values', () => {
    expect(
      formatFramework('Cannot query field "nope" on type "Query".', 'GRAPHQL_VALIDATION_FAILED'),
    ).toEqual({
      message: 'Cannot query field "nope" on type "Query".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    for (const message of [
      `Expected value of type "Int!", found "${PHI}".`,
      'Expected value of type "Int!", found 123456789.',
      'Int cannot represent non-integer value: "abc"',
      'Value "JANE_ROE" does not exist in "Status" enum.',
    ]) {
      const result = formatFramework(message, 'GRAPHQL_VALIDATION_FAILED');
      expect(result.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
      expect(result.message).not.toBe(message);
    }
    expect(
      formatFramework(
        `Variable "$input" got invalid value "${PHI}" at "input.text"; String cannot represent`,
        'BAD_USER_INPUT',
      ),
    ).toEqual({
      message: 'Variable "$input" has a value that does not match its type.',
      extensions: { code: 'BAD_USER_INPUT', field: '$input' },
    });
    expect(formatFramework(`Syntax Error: Unexpected Name "Roe".`, 'GRAPHQL_PARSE_FAILED')).toEqual(
      {
        message: 'The operation is not valid GraphQL syntax.',
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      },
    );
  });

  it('drops schema suggestions when the schema is hidden', () => {
    const message = 'Cannot query field "mee" on type "Query". Did you mean "me"?';
    expect(formatFramework(message, 'GRAPHQL_VALIDATION_FAILED', true).message).toBe(
      'Cannot query field "mee" on type "Query".',
    );
    expect(formatFramework(message, 'GRAPHQL_VALIDATION_FAILED', false).message).toBe(message);
  });

  it('treats a framework error without a known code as INTERNAL', () => {
    const result = formatFramework('Cannot return null for non-nullable field Query.me.', 'X');
    expect(result.extensions?.['code']).toBe('INTERNAL');
  });
});
