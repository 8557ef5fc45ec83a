import { type UserRequestBudget, type Principal } from '@ledgerline/identity';
import { EdgeError } from '../errors/edge-error';

/**
 * The per-user request rate of the GraphQL edge: it draws on the process's one UserRequestBudget
 * (LEDGERLINE_REALTIME_RATE_PER_USER requests per second per user), the same counters the realtime
 * protocol draws on, over both GraphQL transports. Every operation counts, whatever it does, so a
 * script cannot go around the realtime limit by speaking GraphQL, nor double it by speaking both.
 */
export class UserRequestRate {
  constructor(private readonly budget: UserRequestBudget) {}

  /** undefined when the principal may go on; otherwise the RATE_LIMITED refusal (429). */
  async admit(principal: Principal): Promise<EdgeError | undefined> {
    const retryAfterMs = await this.budget.take(principal);
    if (retryAfterMs === undefined) return undefined;
    return new EdgeError('RATE_LIMITED', 'Too many requests from this user; retry later.', {
      details: { retryable: true, retryAfterMs },
      status: 429,
      headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
    });
  }
}
