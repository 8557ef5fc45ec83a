import type { RequestOrigin } from '../access/access-recorder.port';
import type { Principal } from '../principal';

/** What the request is for, when the caller knows it (e.g. a tenant-scoped endpoint). */
export interface AuthenticationExpectation {
  /** Refuse, as `wrong_tenant`, a credential that belongs to another tenant. */
  readonly tenantId?: string;
}

/**
 * Turns a presented credential into a Principal.
 *
 * Every adapter guarantees: it resolves only for a credential it verified completely; otherwise it
 * rejects with AuthenticationError, whose `reason` says why and whose message never quotes the
 * credential or anything inside it. Only `keys_unavailable` is worth retrying unchanged.
 *
 * `origin` says where the credential was presented; the edge's authenticator records the sign-in
 * with it and returns it on the principal (`Principal.origin`). Adapters below the edge ignore it.
 */
export interface Authenticator {
  authenticate(
    credential: string | undefined,
    expected?: AuthenticationExpectation,
    origin?: RequestOrigin,
  ): Promise<Principal>;
}
