import { Catch } from '@nestjs/common';
import type { GqlExceptionFilter } from '@nestjs/graphql';

/**
 * Hands what the presence resolvers throw back to GraphQL, where the edge maps Ledgerline errors
 * to stable codes (PresenceNotVisibleError → NOT_FOUND, TypingRateLimitedError → RATE_LIMITED,
 * PresenceRefused → CONFLICT with its reason, …) and anything else to INTERNAL under an error id.
 * Without it Nest's default handler would log every refusal as an error, message and stack.
 */
@Catch()
export class PresenceErrorFilter implements GqlExceptionFilter {
  catch(exception: unknown): Error {
    return exception instanceof Error ? exception : new Error('a resolver threw a non-error');
  }
}
