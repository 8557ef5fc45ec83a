import { join } from 'node:path';
import { AccessCatalogue, loadRolePolicy } from '@ledgerline/identity';
import { schemaOf } from '@ledgerline/kernel';
import { LEDGERLINE_LIBS } from './lib-manifests';

const ROLES_FILE = join(__dirname, '../../../policies/roles.yaml');

describe('the composed libs (LEDGERLINE_LIBS)', () => {
  const catalogue = new AccessCatalogue(LEDGERLINE_LIBS);

  it('policies/roles.yaml grants only permissions some lib checks, and every one of them', () => {
    const policy = loadRolePolicy(ROLES_FILE, catalogue);
    const granted = new Set<string>([...policy.roles.values()].flatMap((s) => [...s]));
    // A permission nobody holds is a dead handler; one no lib declares is refused at start.
    expect([...catalogue.permissions].filter((p) => !granted.has(p))).toEqual([]);
    expect(catalogue.permissions.size).toBeGreaterThan(10);
  });

  it('declare each permission, access action and schema namespace once', () => {
    const count = (values: string[]) => values.filter((v, i) => values.indexOf(v) !== i);
    expect(count(LEDGERLINE_LIBS.flatMap((l) => [...(l.permissions ?? [])]))).toEqual([]);
    expect(count(LEDGERLINE_LIBS.flatMap((l) => [...(l.accessActions ?? [])]))).toEqual([]);
    expect(count(LEDGERLINE_LIBS.flatMap((l) => (l.schema ?? []).map((p) => p.namespace)))).toEqual(
      [],
    );
    expect(count(LEDGERLINE_LIBS.map((l) => l.name))).toEqual([]);
    // Every lib with tables is composed, each table set once, in dependency order.
    const namespaces = schemaOf(LEDGERLINE_LIBS).map((p) => p.namespace);
    expect(namespaces.slice(0, 2)).toEqual(['event-store', 'crypto']);
    expect(namespaces).toEqual(
      expect.arrayContaining(['pipeline', 'conversations', 'audit-log', 'files', 'push', 'calls']),
    );
  });

  it('name PHI reads `phi.*`, the prefix the accounting of disclosures lists', () => {
    expect([...catalogue.accessActions].filter((a) => a.startsWith('phi.'))).toContain(
      'phi.history.read',
    );
  });
});
