import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../principal';

/**
 * The burst allowance of request rates: beyond its per-second rate, a client may send
 * `rate × burstSeconds` more requests per `burstWindowMs`, so requests read in a bunch (the server
 * paused, the network stalled) are not refused when the client kept its pace.
 */
export const REQUEST_RATE_BURST = { burstSeconds: 2, burstWindowMs: 10_000 } as const;

export interface UserRequestBudgetSettings {
  /** Requests per second per user, over every edge of this process. */
  readonly ratePerUser: number;
  readonly burstSeconds?: number;
  readonly burstWindowMs?: number;
}

/**
 * The one per-user request budget of a process, in memory (rate-limiter-flexible): the realtime
 * protocol and GraphQL (over HTTP and graphql-ws) draw from the same counters, so a user cannot
 * double their rate by speaking both. Keyed by tenant, kind and id.
 */
export class UserRequestBudget {
  private readonly limiter: BurstyRateLimiter;

  constructor(settings: UserRequestBudgetSettings) {
    const burstSeconds = settings.burstSeconds ?? REQUEST_RATE_BURST.burstSeconds;
    const burstWindowMs = settings.burstWindowMs ?? REQUEST_RATE_BURST.burstWindowMs;
    this.limiter = new BurstyRateLimiter(
      new RateLimiterMemory({ points: settings.ratePerUser, duration: 1 }),
      new RateLimiterMemory({
        points: Math.max(1, Math.round(settings.ratePerUser * burstSeconds)),
        duration: Math.max(1, Math.ceil(burstWindowMs / 1000)),
      }),
    );
  }

  /** Takes one request from the user's budget: undefined when allowed, else ms until one is free. */
  async take(principal: Pick<Principal, 'tenantId' | 'kind' | 'id'>): Promise<number | undefined> {
    try {
      await this.limiter.consume(userRequestKey(principal), 1);
      return undefined;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return Math.max(1, outcome.msBeforeNext);
      throw outcome;
    }
  }
}

/** The process's UserRequestBudget (IdentityModule provides it). */
export const USER_REQUEST_BUDGET = Symbol('UserRequestBudget');

/** A user's key in the budget: tenant, kind and id. */
export function userRequestKey(principal: Pick<Principal, 'tenantId' | 'kind' | 'id'>): string {
  return JSON.stringify([principal.tenantId, principal.kind, principal.id]);
}
