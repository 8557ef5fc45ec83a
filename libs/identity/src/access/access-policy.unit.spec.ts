import { UnavailableError } from '@ledgerline/kernel';
import { AccessDeniedError } from '../identity.errors';
import type { Principal } from '../principal';
import { CollectedAccessRecords } from '@ledgerline/testing';
import { AccessPolicy } from './access-policy';
import { parseRolePolicy } from './role-policy';

// The denials are collected in memory because libs/audit, which records them as audit events,
// does not exist yet; the collector is a real recorder, so the tests assert what was recorded.

const policy = parseRolePolicy(
  `version: 1
roles:
  user:
    permissions: [conversation.read, message.send]
  auditor:
    permissions: [audit.read]
`,
  'roles.yaml',
);

const alice: Principal = { kind: 'user', id: 'alice', tenantId: 'tenant-a', roles: ['user'] };

describe('AccessPolicy', () => {
  it('allows what one of the principal’s roles grants, and records nothing', async () => {
    const denials = new CollectedAccessRecords();
    const access = new AccessPolicy(policy, denials);
    await access.check(alice, 'message.send');
    await access.check({ ...alice, roles: ['nope', 'auditor'] }, 'audit.read');
    await access.check(alice, 'conversation.read', { tenantId: 'tenant-a', type: 'conversation' });
    expect(denials.denials).toEqual([]);
  });

  it('denies a permission no role grants: a typed error naming the permission, recorded', async () => {
    const denials = new CollectedAccessRecords();
    const access = new AccessPolicy(policy, denials);
    const resource = { tenantId: 'tenant-a', type: 'audit-log' };
    const error = await access.check(alice, 'audit.read', resource).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({
      code: 'forbidden',
      permission: 'audit.read',
      denial: 'missing_permission',
      recorded: true,
    });
    expect((error as Error).message).toBe(
      "access denied: audit.read is not granted to the caller's roles",
    );
    expect(denials.denials).toEqual([
      {
        tenantId: 'tenant-a',
        actor: { id: 'alice', kind: 'user', roles: ['user'] },
        action: 'access.denied',
        outcome: 'denied',
        reason: 'missing_permission',
        permission: 'audit.read',
        resourceType: 'audit-log',
        targetIds: [],
        subjectUserIds: [],
      },
    ]);
  });

  it('grants nothing for roles the policy does not define, or no roles at all', async () => {
    const denials = new CollectedAccessRecords();
    const access = new AccessPolicy(policy, denials);
    for (const roles of [[], ['superuser'], ['USER']]) {
      await expect(access.check({ ...alice, roles }, 'message.send')).rejects.toBeInstanceOf(
        AccessDeniedError,
      );
    }
    expect(denials.denials).toHaveLength(3);
  });

  it('denies a resource of another tenant even when the role grants the permission', async () => {
    const denials = new CollectedAccessRecords();
    const access = new AccessPolicy(policy, denials);
    const resource = { tenantId: 'tenant-b', type: 'conversation', id: 'c-1' };
    await expect(access.check(alice, 'conversation.read', resource)).rejects.toMatchObject({
      code: 'forbidden',
      denial: 'other_tenant',
    });
    // Recorded in the caller's own tenant, naming only the kind of thing asked for.
    expect(denials.denials).toEqual([
      {
        tenantId: 'tenant-a',
        actor: { id: 'alice', kind: 'user', roles: ['user'] },
        action: 'access.denied',
        outcome: 'denied',
        reason: 'other_tenant',
        permission: 'conversation.read',
        resourceType: 'conversation',
        targetIds: [],
        subjectUserIds: [],
      },
    ]);
  });

  it('still denies when the denial cannot be recorded, and says so', async () => {
    const denials = new CollectedAccessRecords();
    const outage = new UnavailableError('audit log unavailable');
    denials.failWith(outage);
    const access = new AccessPolicy(policy, denials);
    const error = await access.check(alice, 'audit.read').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ recorded: false, cause: outage });
  });

  it('answers allows() and permissionsOf() without recording', () => {
    const denials = new CollectedAccessRecords();
    const access = new AccessPolicy(policy, denials);
    expect(access.allows(alice, 'message.send')).toBe(true);
    expect(access.allows(alice, 'audit.read')).toBe(false);
    expect([...access.permissionsOf({ ...alice, roles: ['user', 'auditor'] })].sort()).toEqual([
      'audit.read',
      'conversation.read',
      'message.send',
    ]);
    expect(access.definesRole('auditor')).toBe(true);
    expect(access.definesRole('admin')).toBe(false);
    expect(denials.denials).toEqual([]);
  });
});
