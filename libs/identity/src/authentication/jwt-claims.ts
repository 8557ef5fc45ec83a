import type { JWTPayload } from 'jose';
import { isValidTenantId } from '@ledgerline/kernel';
import { AuthenticationError } from '../identity.errors';
import { isReservedTenantId } from '../reserved-tenants';
import type { Principal, PrincipalKind } from '../principal';
import type { JwtSettings } from '../identity.config';

type ClaimNames = Pick<JwtSettings, 'tenantClaim' | 'rolesClaim' | 'kindClaim'>;

// Tenant ids end up in stream names, table rows and key ids: printable ASCII without spaces.
const ROLE = /^[\x21-\x7e]{1,64}$/;
const MAX_ROLES = 64;
const MAX_SUBJECT = 255;

/**
 * The Principal a verified token describes. Reads only the subject, the tenant, the roles and the
 * kind: names, e-mail addresses and every other claim are left behind.
 */
export function principalFromClaims(payload: JWTPayload, claims: ClaimNames): Principal {
  const subject = payload.sub;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT) {
    throw new AuthenticationError('malformed');
  }
  const tenantId = claim(payload, claims.tenantClaim);
  if (!isValidTenantId(tenantId)) {
    throw new AuthenticationError('no_tenant');
  }
  if (isReservedTenantId(tenantId)) throw new AuthenticationError('no_tenant');
  const principal: Principal = {
    kind: kindOf(claim(payload, claims.kindClaim)),
    id: subject,
    tenantId,
    roles: rolesOf(claim(payload, claims.rolesClaim)),
  };
  return typeof payload.exp === 'number'
    ? { ...principal, tokenExpiresAt: new Date(payload.exp * 1000) }
    : principal;
}

/**
 * A claim by its exact name (namespaced claims such as `https://app.example/tenant` contain dots),
 * else by a dotted path into nested objects (Keycloak's `realm_access.roles`).
 */
function claim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let current: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, part)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Roles are a JSON array of role names, or absent (no role). Anything else (a string, `null`, an
 * object) is a malformed token: guessing what an identity provider meant is how a string of one
 * role becomes a list of several, or a typo becomes a role.
 */
function rolesOf(roles: unknown): readonly string[] {
  if (roles === undefined) return [];
  if (
    !Array.isArray(roles) ||
    roles.length > MAX_ROLES ||
    !roles.every((r): r is string => typeof r === 'string' && ROLE.test(r))
  ) {
    throw new AuthenticationError('malformed');
  }
  return [...new Set(roles)];
}

function kindOf(value: unknown): Exclude<PrincipalKind, 'service'> {
  // Services authenticate with API keys; a token claiming to be one is refused.
  if (value === undefined || value === 'user') return 'user';
  if (value === 'agent') return 'agent';
  throw new AuthenticationError('malformed');
}
