import { Catch } from '@nestjs/common';
import type { GqlExceptionFilter } from '@nestjs/graphql';

/**
 * The audit resolvers' exception filter: hands the error back to GraphQL, where the edge maps
 * Ledgerline errors by kind (FORBIDDEN for a caller without `audit.read`, BAD_USER_INPUT with the
 * field for a bad range, page size or cursor, UNAVAILABLE when the audit log cannot be brought up
 * to date or the read's own access event cannot be recorded) and reports anything else as INTERNAL
 * under an error id. Without it Nest's default handler would also log every refusal as an error,
 * message and stack included.
 */
@Catch()
export class AuditErrorFilter implements GqlExceptionFilter {
  catch(exception: unknown): Error {
    return exception instanceof Error ? exception : new Error('a resolver threw a non-error');
  }
}
