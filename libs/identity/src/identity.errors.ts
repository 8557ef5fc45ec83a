import { LedgerlineError } from '@ledgerline/kernel';
import type { Permission } from './access/permissions';

// Messages name reasons, permissions, files and paths only. They never quote a token, an API key,
// a claim value or a resource's content: a token can carry names and e-mail addresses (PHI), and a
// credential in a log is a credential leaked.

/** Why a credential was refused. Stable: audit events and metrics group failed logins by it. */
export type AuthenticationFailure =
  /** No credential was presented. */
  | 'missing'
  /** The credential is not a well-formed JWT or API key, or lacks a required claim. */
  | 'malformed'
  | 'expired'
  /** The token's `nbf` is still in the future. */
  | 'not_yet_valid'
  /** The signature does not verify, no trusted key matches, or the algorithm is not accepted. */
  | 'bad_signature'
  | 'wrong_audience'
  | 'wrong_issuer'
  /** The configured tenant claim is missing, is not a usable tenant id, or names a reserved one. */
  | 'no_tenant'
  /** The credential belongs to another tenant than the one the request is for. */
  | 'wrong_tenant'
  /** The JWKS endpoint is unreachable or broken and no cached key can verify the token. */
  | 'keys_unavailable'
  /** An API key this deployment never issued. */
  | 'unknown_credential'
  /** An API key that was revoked. */
  | 'revoked';

const MESSAGES: Record<AuthenticationFailure, string> = {
  missing: 'no credential was presented',
  malformed: 'the credential is malformed',
  expired: 'the token has expired',
  not_yet_valid: 'the token is not valid yet',
  bad_signature: 'the token signature could not be verified',
  wrong_audience: 'the token was issued for another audience',
  wrong_issuer: 'the token was issued by an untrusted issuer',
  no_tenant: 'the token names no tenant',
  wrong_tenant: 'the credential belongs to another tenant',
  keys_unavailable: 'the signing keys of the identity provider are unavailable',
  unknown_credential: 'the API key is not known',
  revoked: 'the API key has been revoked',
};

/** A credential was refused. Only `keys_unavailable` may succeed when retried unchanged. */
export class AuthenticationError extends LedgerlineError {
  readonly code = 'unauthenticated';
  override readonly retryable: boolean;
  constructor(
    readonly reason: AuthenticationFailure,
    options?: { cause?: unknown },
  ) {
    super(`authentication failed: ${MESSAGES[reason]}`, options);
    this.retryable = reason === 'keys_unavailable';
  }
}

/** Why an access check refused. */
export type AccessDenial =
  /** None of the principal's roles grants the permission. */
  | 'missing_permission'
  /** The resource belongs to another tenant than the principal. */
  | 'other_tenant';

/**
 * An access check refused. `recorded` is false when the access-denied audit record could not be
 * written (the recorder failed, see `cause`): the request is refused all the same, and the edge
 * must log that the audit trail has a gap.
 */
export class AccessDeniedError extends LedgerlineError {
  readonly code = 'forbidden';
  constructor(
    readonly permission: Permission,
    readonly denial: AccessDenial,
    readonly recorded: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      denial === 'other_tenant'
        ? `access denied: ${permission} on a resource of another tenant`
        : `access denied: ${permission} is not granted to the caller's roles`,
      options,
    );
  }
}

/** A policy file is missing or invalid; raised once, at start-up. Names the file and each path. */
export class PolicyFileError extends LedgerlineError {
  readonly code = 'policy_invalid';
  constructor(
    readonly file: string,
    readonly problems: readonly { path: string; problem: string }[],
  ) {
    super(
      `Invalid policy file ${file}:\n${problems.map((p) => `  ${p.path}: ${p.problem}`).join('\n')}`,
    );
  }
}

/** Dev tokens were asked for where they must never exist (NODE_ENV=production). */
export class DevTokensForbiddenError extends LedgerlineError {
  readonly code = 'dev_tokens_forbidden';
  constructor() {
    super('development tokens cannot be enabled when NODE_ENV=production');
  }
}
