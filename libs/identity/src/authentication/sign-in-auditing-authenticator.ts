import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '@ledgerline/kernel';
import type { AccessRecorder, RequestOrigin } from '../access/access-recorder.port';
import { AuthenticationError } from '../identity.errors';
import { accessActorOf, type Principal } from '../principal';
import type { AuthenticationExpectation, Authenticator } from './authenticator.port';

/**
 * The tenant whose audit stream holds refused sign-ins that name no tenant Ledgerline could trust
 * (a forged or garbled token says nothing reliable about whose it was). Not a valid tenant id of
 * the host app's identity provider by convention; operators read it with `ledgerline audit`.
 */
export const DEPLOYMENT_AUDIT_TENANT = 'ledgerline-deployment';

export interface SignInAuditingOptions {
  readonly clock: Clock;
  /** Credentials remembered as signed in, so a token sent with every request is recorded once. */
  readonly rememberedCredentials?: number;
  /** How long an API key (which does not expire) counts as signed in. */
  readonly apiKeySessionMs?: number;
}

/**
 * Records sign-ins: every refused credential (`signin.failed`, with the refusal's reason), and a
 * credential's first successful use on this node within its lifetime (`signin.succeeded`), so a
 * bearer token presented with every request is one sign-in, not thousands. Both fail closed: when
 * the record cannot be written, authentication fails with the recorder's (retryable) error.
 *
 * The principal it returns carries the request's origin, for the access records that follow.
 */
export class SignInAuditingAuthenticator implements Authenticator {
  private readonly signedIn: LRUCache<string, true>;
  private readonly apiKeySessionMs: number;

  constructor(
    private readonly inner: Authenticator,
    private readonly recorder: AccessRecorder,
    private readonly options: SignInAuditingOptions,
  ) {
    this.signedIn = new LRUCache({ max: options.rememberedCredentials ?? 10_000 });
    this.apiKeySessionMs = options.apiKeySessionMs ?? 3_600_000;
  }

  async authenticate(
    credential: string | undefined,
    expected?: AuthenticationExpectation,
    origin: RequestOrigin = { transport: 'internal' },
  ): Promise<Principal> {
    let principal: Principal;
    try {
      principal = await this.inner.authenticate(credential, expected);
    } catch (error) {
      // A missing credential is not a sign-in attempt; an unreachable identity provider is ours.
      if (
        error instanceof AuthenticationError &&
        error.reason !== 'missing' &&
        error.reason !== 'keys_unavailable'
      ) {
        await this.recorder.record({
          tenantId: expected?.tenantId ?? DEPLOYMENT_AUDIT_TENANT,
          actor: { id: 'anonymous', kind: 'anonymous', roles: [] },
          action: 'signin.failed',
          outcome: 'failed',
          reason: error.reason,
          targetIds: [],
          subjectUserIds: [],
          origin,
        });
      }
      throw error;
    }
    const withOrigin: Principal = { ...principal, origin };
    const key = createHash('sha256')
      .update(credential ?? '')
      .digest('base64url');
    if (!this.signedIn.has(key)) {
      await this.recorder.record({
        tenantId: principal.tenantId,
        actor: accessActorOf(principal),
        action: 'signin.succeeded',
        outcome: 'allowed',
        targetIds: principal.credentialId === undefined ? [] : [principal.credentialId],
        subjectUserIds: [],
        origin,
      });
      const now = this.options.clock.now().getTime();
      const until = principal.tokenExpiresAt?.getTime() ?? now + this.apiKeySessionMs;
      if (until > now) this.signedIn.set(key, true, { ttl: until - now });
    }
    return withOrigin;
  }
}
