import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RealtimeSettings } from '../realtime.config';

export type Admission =
  | { readonly allowed: true }
  /** `abusive`: this refusal crossed the abuse limit; the connection is to be closed. */
  | { readonly allowed: false; readonly retryAfterMs: number; readonly abusive: boolean };

/**
 * The request rate limits of one process, in memory (rate-limiter-flexible): per connection, per
 * user over all their connections here, and a count of refusals per connection that, past the
 * abuse limit, closes it. Every frame counts, well formed or not.
 */
export class RequestLimits {
  private readonly perConnection: RateLimiterMemory;
  private readonly perUser: RateLimiterMemory;
  private readonly refusals: RateLimiterMemory;

  constructor(
    settings: Pick<
      RealtimeSettings,
      'ratePerConnection' | 'ratePerUser' | 'abuseLimit' | 'abuseWindowMs'
    >,
  ) {
    this.perConnection = new RateLimiterMemory({ points: settings.ratePerConnection, duration: 1 });
    this.perUser = new RateLimiterMemory({ points: settings.ratePerUser, duration: 1 });
    this.refusals = new RateLimiterMemory({
      points: settings.abuseLimit,
      duration: Math.max(1, Math.ceil(settings.abuseWindowMs / 1000)),
    });
  }

  async admit(connectionId: string, userKey: string): Promise<Admission> {
    const refusal =
      (await this.refusal(this.perConnection, connectionId)) ??
      (await this.refusal(this.perUser, userKey));
    if (refusal === undefined) return { allowed: true };
    const abusive = (await this.refusal(this.refusals, connectionId)) !== undefined;
    return { allowed: false, retryAfterMs: refusal, abusive };
  }

  /** undefined when a point was consumed; otherwise the milliseconds until one is free. */
  private async refusal(limiter: RateLimiterMemory, key: string): Promise<number | undefined> {
    try {
      await limiter.consume(key, 1);
      return undefined;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return Math.max(1, outcome.msBeforeNext);
      throw outcome;
    }
  }
}
