import { ConfigError } from '@ledgerline/kernel';

/**
 * How end users' and agents' JWTs are verified. Filled from configuration at start-up (see the
 * variable named on each field); nothing in this lib reads the environment.
 */
export interface JwtSettings {
  /** LEDGERLINE_JWT_ISSUER: the exact `iss` the host app's identity provider puts in tokens. */
  readonly issuer?: string;
  /** LEDGERLINE_JWT_AUDIENCE: the `aud` tokens must be issued for (this deployment). */
  readonly audience?: string;
  /** LEDGERLINE_JWT_JWKS_URL: where the identity provider publishes its public keys. */
  readonly jwksUrl?: string;
  /** LEDGERLINE_JWT_TENANT_CLAIM: the claim holding the tenant id. */
  readonly tenantClaim: string;
  /** LEDGERLINE_JWT_ROLES_CLAIM: the claim holding roles (a JSON array of names). */
  readonly rolesClaim: string;
  /** LEDGERLINE_JWT_KIND_CLAIM: the claim that marks an AI agent (value `agent`); absent means user. */
  readonly kindClaim: string;
  /** LEDGERLINE_JWT_CLOCK_TOLERANCE_SEC: leeway for `exp` and `nbf` against clock skew. */
  readonly clockToleranceSec: number;
  /** LEDGERLINE_JWKS_CACHE_MAX_AGE_MS: how long fetched keys are trusted while the endpoint is down. */
  readonly jwksCacheMaxAgeMs: number;
  /** LEDGERLINE_JWKS_COOLDOWN_MS: minimum time between refetches caused by an unknown `kid`. */
  readonly jwksCooldownMs: number;
  /** LEDGERLINE_JWKS_TIMEOUT_MS: how long one fetch of the JWKS may take. */
  readonly jwksTimeoutMs: number;
}

export interface IdentitySettings {
  readonly jwt: JwtSettings;
  /**
   * LEDGERLINE_DEV_TOKENS: start a development token issuer and trust it instead of the identity
   * provider. Refused when NODE_ENV=production.
   */
  readonly devTokens: boolean;
  /** LEDGERLINE_DEV_TOKENS_PORT: where the development issuer listens on 127.0.0.1 (0: any port). */
  readonly devTokensPort: number;
  /** LEDGERLINE_ROLES_FILE: the roles → permissions policy. */
  readonly rolesFile: string;
}

export const DEFAULT_JWT_SETTINGS = {
  tenantClaim: 'tenant_id',
  rolesClaim: 'roles',
  kindClaim: 'principal_kind',
  clockToleranceSec: 30,
  jwksCacheMaxAgeMs: 10 * 60_000,
  jwksCooldownMs: 30_000,
  jwksTimeoutMs: 5_000,
} as const satisfies Partial<JwtSettings>;

export const DEFAULT_IDENTITY_SETTINGS: IdentitySettings = {
  jwt: DEFAULT_JWT_SETTINGS,
  devTokens: false,
  devTokensPort: 0,
  rolesFile: 'policies/roles.yaml',
};

/** The JWT settings a verifier needs, all present. */
export type ResolvedJwtSettings = JwtSettings & {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
};

/**
 * Checks that JWT verification is fully configured, naming each missing variable. Production
 * additionally requires an https JWKS URL: keys fetched in clear can be swapped on the way.
 */
export function resolveJwtSettings(
  jwt: JwtSettings,
  environment: 'development' | 'production' | 'test',
): ResolvedJwtSettings {
  const problems: { variable: string; problem: string }[] = [];
  const required = (value: string | undefined, variable: string): string => {
    if (!value) problems.push({ variable, problem: 'required unless LEDGERLINE_DEV_TOKENS=true' });
    return value ?? '';
  };
  const issuer = required(jwt.issuer, 'LEDGERLINE_JWT_ISSUER');
  const audience = required(jwt.audience, 'LEDGERLINE_JWT_AUDIENCE');
  const jwksUrl = required(jwt.jwksUrl, 'LEDGERLINE_JWT_JWKS_URL');
  if (jwksUrl) {
    let protocol: string | undefined;
    try {
      protocol = new URL(jwksUrl).protocol;
    } catch {
      problems.push({ variable: 'LEDGERLINE_JWT_JWKS_URL', problem: 'must be a URL' });
    }
    if (protocol && protocol !== 'https:' && protocol !== 'http:') {
      problems.push({ variable: 'LEDGERLINE_JWT_JWKS_URL', problem: 'must be an http(s) URL' });
    } else if (protocol === 'http:' && environment === 'production') {
      problems.push({
        variable: 'LEDGERLINE_JWT_JWKS_URL',
        problem: 'must be https when NODE_ENV=production',
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...jwt, issuer, audience, jwksUrl };
}
