import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '@ledgerline/identity';
import { EdgeError } from '../errors/edge-error';

/**
 * The per-user request rate of the GraphQL edge: the same budget (LEDGERLINE_REALTIME_RATE_PER_USER
 * requests per second per user, over both GraphQL transports of this process) and the same user
 * key as the realtime protocol, in memory (rate-limiter-flexible). Every operation counts, whatever
 * it does, so a script cannot go around the realtime limit by speaking GraphQL.
 */
export class UserRequestRate {
  private readonly limiter: RateLimiterMemory;

  constructor(requestsPerSecond: number) {
    this.limiter = new RateLimiterMemory({ points: requestsPerSecond, duration: 1 });
  }

  /** undefined when the principal may go on; otherwise the RATE_LIMITED refusal (429). */
  async admit(principal: Principal): Promise<EdgeError | undefined> {
    try {
      await this.limiter.consume(userKey(principal), 1);
      return undefined;
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      const retryAfterMs = Math.max(1, outcome.msBeforeNext);
      return new EdgeError('RATE_LIMITED', 'Too many requests from this user; retry later.', {
        details: { retryable: true, retryAfterMs },
        status: 429,
        headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
      });
    }
  }
}

/** The realtime gateway's key for a user: tenant, kind and id. */
function userKey(principal: Principal): string {
  return JSON.stringify([principal.tenantId, principal.kind, principal.id]);
}
