import { AuthenticationError } from '../identity.errors';
import { DEFAULT_JWT_SETTINGS } from '../identity.config';
import { principalFromClaims } from './jwt-claims';

const names = DEFAULT_JWT_SETTINGS;
const base = { sub: 'u-1', tenant_id: 't-1', exp: 1_800_000_000 };

function reason(payload: Record<string, unknown>): string {
  try {
    principalFromClaims(payload, names);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthenticationError);
    return (error as AuthenticationError).reason;
  }
  return 'accepted';
}

describe('principalFromClaims', () => {
  it('keeps subject, tenant, roles, kind and expiry, and nothing else', () => {
    expect(
      principalFromClaims(
        { ...base, roles: ['user', 'user', 'auditor'], name: 'Jane Doe', email: 'j@example.test' },
        names,
      ),
    ).toEqual({
      kind: 'user',
      id: 'u-1',
      tenantId: 't-1',
      roles: ['user', 'auditor'],
      tokenExpiresAt: new Date(1_800_000_000_000),
    });
  });

  it('reads roles as an array, or none', () => {
    expect(principalFromClaims({ ...base, roles: ['user', 'agent'] }, names).roles).toEqual([
      'user',
      'agent',
    ]);
    expect(principalFromClaims(base, names).roles).toEqual([]);
    expect(reason({ ...base, roles: [1] })).toBe('malformed');
    expect(reason({ ...base, roles: ['x'.repeat(65)] })).toBe('malformed');
    expect(reason({ ...base, roles: Array.from({ length: 65 }, (_, i) => `r${i}`) })).toBe(
      'malformed',
    );
  });

  // Issue 10, item 20: a string was read as a space-separated list.
  it('refuses malformed role claims: a string, null, an object', () => {
    expect(reason({ ...base, roles: 'admin' })).toBe('malformed');
    expect(reason({ ...base, roles: ' user  agent ' })).toBe('malformed');
    expect(reason({ ...base, roles: null })).toBe('malformed');
    expect(reason({ ...base, roles: { admin: true } })).toBe('malformed');
  });

  // Issue 10, item 11: `ledgerline-deployment` holds deployment-wide records.
  it('refuses reserved tenant ids', () => {
    expect(reason({ ...base, tenant_id: 'ledgerline-deployment', roles: ['auditor'] })).toBe(
      'no_tenant',
    );
    expect(reason({ ...base, tenant_id: 'Ledgerline-Anything' })).toBe('no_tenant');
    expect(reason({ ...base, tenant_id: 'ledgerline' })).toBe('accepted');
  });

  it('tells agents from users; a token cannot claim to be a service', () => {
    expect(principalFromClaims({ ...base, principal_kind: 'agent' }, names).kind).toBe('agent');
    expect(principalFromClaims({ ...base, principal_kind: 'user' }, names).kind).toBe('user');
    expect(reason({ ...base, principal_kind: 'service' })).toBe('malformed');
    expect(reason({ ...base, principal_kind: 'admin' })).toBe('malformed');
  });

  it('requires a usable tenant id and subject', () => {
    // The event store's rule: a tenant it would refuse on the first write is refused here.
    for (const tenant of [
      undefined,
      '',
      7,
      'has space',
      'x'.repeat(65),
      ['t-1'],
      'a.b',
      '-t',
      't@x',
    ]) {
      expect(reason({ ...base, tenant_id: tenant })).toBe('no_tenant');
    }
    for (const sub of [undefined, '', 'x'.repeat(256)]) {
      expect(reason({ ...base, sub })).toBe('malformed');
    }
  });

  it('prefers an exact claim name to a dotted path', () => {
    const dotted = { ...names, tenantClaim: 'org.tenant' };
    expect(
      principalFromClaims({ ...base, 'org.tenant': 'exact', org: { tenant: 'nested' } }, dotted)
        .tenantId,
    ).toBe('exact');
    expect(principalFromClaims({ ...base, org: { tenant: 'nested' } }, dotted).tenantId).toBe(
      'nested',
    );
    expect(reason({ ...base, tenant_id: undefined, org: 'flat' })).toBe('no_tenant');
  });
});
