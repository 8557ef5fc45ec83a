import { PolicyFileError } from '../identity.errors';
import { parseRolePolicy } from './role-policy';

const FILE = 'policies/roles.yaml';
// What the composed libs would declare (a process passes its AccessCatalogue).
const KNOWN = {
  permissions: new Set(['conversation.read', 'message.send', 'audit.read', 'keys.rotate']),
};

function problemsOf(text: string): PolicyFileError {
  try {
    parseRolePolicy(text, FILE, KNOWN);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyFileError);
    const e = error as PolicyFileError;
    expect(e.code).toBe('policy_invalid');
    expect(e.message).toContain(FILE);
    return e;
  }
  throw new Error('expected the policy to be refused');
}

describe('parseRolePolicy', () => {
  it('reads roles and their permissions', () => {
    const policy = parseRolePolicy(
      `version: 1
roles:
  user:
    description: An end user.
    permissions: [conversation.read, message.send]
  auditor:
    permissions:
      - audit.read
  nobody:
    permissions: []
`,
      FILE,
      KNOWN,
    );
    expect(policy.version).toBe(1);
    expect([...policy.roles.keys()]).toEqual(['user', 'auditor', 'nobody']);
    expect([...policy.roles.get('user')!]).toEqual(['conversation.read', 'message.send']);
    expect(policy.roles.get('nobody')!.size).toBe(0);
  });

  it('refuses an unknown permission, naming the path and line', () => {
    const e = problemsOf(`version: 1
roles:
  user:
    permissions:
      - message.send
      - message.sned
`);
    expect(e.problems).toEqual([
      { path: 'roles.user.permissions[1] (line 6)', problem: 'unknown permission "message.sned"' },
    ]);
  });

  it('refuses a role defined twice', () => {
    const e = problemsOf(`version: 1
roles:
  user:
    permissions: [message.send]
  user:
    permissions: [audit.read]
`);
    expect(e.problems).toEqual([
      {
        path: 'line 5, column 3',
        problem: 'a key is defined twice (each role may appear once)',
      },
    ]);
  });

  it('refuses a permission listed twice in one role', () => {
    const e = problemsOf(`version: 1
roles:
  user:
    permissions: [message.send, message.send]
`);
    expect(e.problems).toEqual([
      {
        path: 'roles.user.permissions[1] (line 4)',
        problem: 'permission "message.send" is listed twice',
      },
    ]);
  });

  it('refuses misspelt keys, bad role names and missing permissions', () => {
    const e = problemsOf(`version: 1
roles:
  user:
    permision: [message.send]
  Admin:
    permissions: [keys.rotate]
`);
    expect(e.problems).toEqual([
      { path: 'roles.user.permissions (line 3)', problem: 'required: a list of permissions' },
      { path: 'roles.user (line 3)', problem: 'Unrecognized key: "permision"' },
      {
        path: 'roles.Admin (line 5)',
        problem: 'role names are lower-case letters, digits, "_" and "-", starting with a letter',
      },
    ]);
  });

  it('refuses another version, no roles, an empty file and broken YAML', () => {
    expect(problemsOf('version: 2\nroles:\n  user:\n    permissions: []\n').problems).toEqual([
      {
        path: 'version (line 1)',
        problem: 'must be 1 (the only version this build understands)',
      },
    ]);
    expect(problemsOf('version: 1\nroles: {}\n').problems).toEqual([
      { path: 'roles (line 2)', problem: 'at least one role is required' },
    ]);
    expect(problemsOf('').problems[0]!.path).toBe('(top level)');
    expect(problemsOf('version: 1\nroles: [\n').message).toMatch(/not valid YAML/);
  });

  it('without a catalogue, accepts any well-formed permission name and refuses others', () => {
    const policy = parseRolePolicy(
      'version: 1\nroles:\n  r:\n    permissions: [file.upload]\n',
      FILE,
    );
    expect([...policy.roles.get('r')!]).toEqual(['file.upload']);
    expect(() =>
      parseRolePolicy('version: 1\nroles:\n  r:\n    permissions: [Upload]\n', FILE),
    ).toThrow(/unknown permission "Upload"/);
  });
});
