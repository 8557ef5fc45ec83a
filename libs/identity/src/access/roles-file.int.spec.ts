import { join } from 'node:path';
import { PolicyFileError } from '../identity.errors';
import { loadRolePolicy } from './role-policy';

// The checked-in policies/roles.yaml, read from disk as the server reads it at start-up.
const ROLES_FILE = join(__dirname, '../../../../policies/roles.yaml');

describe('policies/roles.yaml', () => {
  it('loads, and gives every role the permissions its job needs and no more', () => {
    const policy = loadRolePolicy(ROLES_FILE);
    const granted = (role: string) => [...(policy.roles.get(role) ?? [])].sort();
    expect([...policy.roles.keys()].sort()).toEqual([
      'admin',
      'agent',
      'auditor',
      'investigator',
      'service',
      'user',
    ]);
    // Minimum necessary: the auditor sees metadata; content takes audit.content (investigator).
    expect(granted('auditor')).toEqual(['audit.export', 'audit.read', 'audit.replay']);
    expect(granted('investigator')).toEqual([
      'audit.content',
      'audit.export',
      'audit.read',
      'audit.replay',
    ]);
    expect(granted('admin')).toEqual([
      'apikeys.manage',
      'emergency.grant',
      'keys.rotate',
      'keys.shred',
    ]);
    // Only auditors read the audit log; only admins touch keys.
    for (const role of ['user', 'agent', 'service']) {
      expect(granted(role).filter((p) => /^(audit|keys|apikeys|emergency)\./.test(p))).toEqual([]);
    }
    // An agent is a narrower user.
    expect(granted('agent').every((p) => granted('user').includes(p))).toBe(true);
    expect(granted('agent')).not.toContain('message.redact');
  });

  it('a missing file is a PolicyFileError naming the file', () => {
    expect(() => loadRolePolicy('/nonexistent/roles.yaml')).toThrow(PolicyFileError);
    expect(() => loadRolePolicy('/nonexistent/roles.yaml')).toThrow(
      /Invalid policy file \/nonexistent\/roles\.yaml:\n {2}\(file\): cannot be read \(ENOENT\)/,
    );
  });
});
