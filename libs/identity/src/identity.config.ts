import { z } from 'zod';
import { ConfigError, configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int, bool, url } = configVar;

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

/** LEDGERLINE_JWT_*, LEDGERLINE_JWKS_*, LEDGERLINE_DEV_TOKENS*, LEDGERLINE_ROLES_FILE (ADR 0027). */
export const identityConfig = defineConfigSlice(
  'identity',
  {
    /** The host app's identity provider: the exact `iss`, the `aud` for this deployment, its JWKS. */
    LEDGERLINE_JWT_ISSUER: z.string().min(1).optional(),
    LEDGERLINE_JWT_AUDIENCE: z.string().min(1).optional(),
    LEDGERLINE_JWT_JWKS_URL: url(['http', 'https']).optional(),
    LEDGERLINE_JWT_TENANT_CLAIM: z.string().min(1).default('tenant_id'),
    LEDGERLINE_JWT_ROLES_CLAIM: z.string().min(1).default('roles'),
    LEDGERLINE_JWT_KIND_CLAIM: z.string().min(1).default('principal_kind'),
    LEDGERLINE_JWT_CLOCK_TOLERANCE_SEC: int(0, 300).default(30),
    /** How long fetched keys keep working while the JWKS endpoint is down. */
    LEDGERLINE_JWKS_CACHE_MAX_AGE_MS: int(1_000, 86_400_000).default(600_000),
    LEDGERLINE_JWKS_COOLDOWN_MS: int(0, 3_600_000).default(30_000),
    LEDGERLINE_JWKS_TIMEOUT_MS: int(100, 60_000).default(5_000),
    /**
     * Development only: a local token issuer trusted instead of the identity provider. Default: on in
     * development when no LEDGERLINE_JWT_ISSUER is set, off otherwise.
     */
    LEDGERLINE_DEV_TOKENS: bool.optional(),
    LEDGERLINE_DEV_TOKENS_PORT: int(0, 65535).default(0),
    LEDGERLINE_ROLES_FILE: z.string().min(1).default('policies/roles.yaml'),
  },
  (e, core, problems): IdentitySettings => {
    if (core.env === 'production' && e.LEDGERLINE_DEV_TOKENS) {
      problems.push({
        variable: 'LEDGERLINE_DEV_TOKENS',
        problem: 'development tokens are refused when NODE_ENV=production',
      });
    }
    return {
      jwt: {
        issuer: e.LEDGERLINE_JWT_ISSUER,
        audience: e.LEDGERLINE_JWT_AUDIENCE,
        jwksUrl: e.LEDGERLINE_JWT_JWKS_URL,
        tenantClaim: e.LEDGERLINE_JWT_TENANT_CLAIM,
        rolesClaim: e.LEDGERLINE_JWT_ROLES_CLAIM,
        kindClaim: e.LEDGERLINE_JWT_KIND_CLAIM,
        clockToleranceSec: e.LEDGERLINE_JWT_CLOCK_TOLERANCE_SEC,
        jwksCacheMaxAgeMs: e.LEDGERLINE_JWKS_CACHE_MAX_AGE_MS,
        jwksCooldownMs: e.LEDGERLINE_JWKS_COOLDOWN_MS,
        jwksTimeoutMs: e.LEDGERLINE_JWKS_TIMEOUT_MS,
      },
      devTokens:
        e.LEDGERLINE_DEV_TOKENS ?? (core.env === 'development' && !e.LEDGERLINE_JWT_ISSUER),
      devTokensPort: e.LEDGERLINE_DEV_TOKENS_PORT,
      rolesFile: e.LEDGERLINE_ROLES_FILE,
    };
  },
);
