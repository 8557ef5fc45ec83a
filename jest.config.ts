import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from 'jest';

// One Jest project per lib and per app, found on disk so a new lib is picked up without editing
// this file. Every project shares the SWC transform and the path aliases of tsconfig.json.
// Node 24 loads this file itself (type stripping) as an ES module, where there is no __dirname;
// npm runs jest from the package root, so that is where this file is.
const root = typeof __dirname === 'string' ? __dirname : process.cwd();

const aliases: Record<string, string> = {
  // A lib's manifest alone (its tables, permissions, access actions), without the rest of it.
  '^@ledgerline/([a-z-]+)/manifest$': '<rootDir>/libs/$1/src/manifest.ts',
  // A lib's test peers and fixtures, for specs and the bench only.
  '^@ledgerline/([a-z-]+)/testing$': '<rootDir>/libs/$1/src/testing/index.ts',
};
for (const lib of readdirSync(join(root, 'libs'))) {
  aliases[`^@ledgerline/${lib}$`] = `<rootDir>/libs/${lib}/src/index.ts`;
}

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
] as const;

function project(kind: 'apps' | 'libs' | 'bench', name: string): Config {
  const dir = kind === 'bench' ? 'bench' : `${kind}/${name}`;
  return {
    displayName: kind === 'bench' ? 'bench' : `${kind}/${name}`,
    rootDir: root,
    roots: [`<rootDir>/${dir}`],
    testMatch: ['**/*.spec.ts'],
    testEnvironment: 'node',
    transform: { '^.+\\.ts$': swc as unknown as [string, Record<string, unknown>] },
    moduleNameMapper: aliases,
    setupFiles: ['reflect-metadata'],
  };
}

const projects: Config[] = [];
for (const kind of ['libs', 'apps'] as const) {
  for (const name of readdirSync(join(root, kind))) {
    if (existsSync(join(root, kind, name, 'src'))) projects.push(project(kind, name));
  }
}

if (existsSync(join(root, 'bench', 'src'))) projects.push(project('bench', 'bench'));

const config: Config = {
  projects,
  // A backstop, not a measure (tests never assert timings): opening an embedded database and
  // migrating it takes seconds on a quiet machine and can take a minute with every core busy.
  testTimeout: 120_000,
  // Integration suites share one PostgreSQL database; their tables are namespaced per test file,
  // but two workers on two cores are plenty and keep PGlite's WASM start-up cost bounded.
  maxWorkers: 2,
};

export default config;
