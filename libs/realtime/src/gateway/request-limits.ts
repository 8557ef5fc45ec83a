import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { UserRequestBudget, type Principal } from '@ledgerline/identity';
import type { RealtimeSettings } from '../realtime.config';

export type Admission =
  | { readonly allowed: true }
  /** `abusive`: this refusal crossed the abuse limit; the connection is to be closed. */
  | { readonly allowed: false; readonly retryAfterMs: number; readonly abusive: boolean };

/**
 * The request rate limits of one process, in memory (rate-limiter-flexible): per connection, per
 * user over all their connections here and their GraphQL requests (the process's one
 * UserRequestBudget), and a count of refusals per connection that, past the
 * abuse limit, closes it. Every frame counts, well formed or not.
 *
 * Each rate is judged with a burst allowance: beyond `rate` requests in one second, a client may
 * draw on a pool of `rate × burstSeconds` more per `burstWindowMs`. A client that keeps under its
 * rate is never refused because its frames were read in a bunch (a pause of the server's event
 * loop, a network stall, a reconnect that flushes a queue), while a flood is still refused within
 * about one window: the pool is spent once, then every frame beyond the rate is refused.
 */
export class RequestLimits {
  private readonly perConnection: BurstyRateLimiter;
  private readonly perUser: UserRequestBudget;
  private readonly refusals: RateLimiterMemory;

  constructor(
    settings: Pick<
      RealtimeSettings,
      | 'ratePerConnection'
      | 'ratePerUser'
      | 'abuseLimit'
      | 'abuseWindowMs'
      | 'burstSeconds'
      | 'burstWindowMs'
    >,
    /** The process's per-user budget, shared with GraphQL; without it, one of its own. */
    perUser?: UserRequestBudget,
  ) {
    const bursty = (rate: number) =>
      new BurstyRateLimiter(
        new RateLimiterMemory({ points: rate, duration: 1 }),
        new RateLimiterMemory({
          points: Math.max(1, Math.round(rate * settings.burstSeconds)),
          duration: Math.max(1, Math.ceil(settings.burstWindowMs / 1000)),
        }),
      );
    this.perConnection = bursty(settings.ratePerConnection);
    this.perUser = perUser ?? new UserRequestBudget(settings);
    this.refusals = new RateLimiterMemory({
      points: settings.abuseLimit,
      duration: Math.max(1, Math.ceil(settings.abuseWindowMs / 1000)),
    });
  }

  async admit(
    connectionId: string,
    principal: Pick<Principal, 'tenantId' | 'kind' | 'id'>,
  ): Promise<Admission> {
    const refusal =
      (await this.refusal(this.perConnection, connectionId)) ??
      (await this.perUser.take(principal));
    if (refusal === undefined) return { allowed: true };
    const abusive = (await this.refusal(this.refusals, connectionId)) !== undefined;
    return { allowed: false, retryAfterMs: refusal, abusive };
  }

  /** undefined when a point was consumed; otherwise the milliseconds until one is free. */
  private async refusal(
    limiter: RateLimiterMemory | BurstyRateLimiter,
    key: string,
  ): Promise<number | undefined> {
    try {
      await limiter.consume(key, 1);
      return undefined;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return Math.max(1, outcome.msBeforeNext);
      throw outcome;
    }
  }
}
