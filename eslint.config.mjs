import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// A lib may import another lib only through its public index (`@ledgerline/<lib>`): one zone per
// lib forbids every path under libs/ except its own folder and the other libs' src/index.ts.
const libs = readdirSync(new URL('./libs', import.meta.url));
const zones = libs.map((lib) => ({
  target: `./libs/${lib}`,
  from: './libs',
  except: [
    `./${lib}`,
    ...libs
      .filter((l) => l !== lib)
      .flatMap((l) => [`./${l}/src/index.ts`, `./${l}/src/manifest.ts`]),
  ],
  message: 'import another lib through @ledgerline/<lib> only',
}));
// Inside a domain lib laid out in layers (domain/, application/, adapters/, api/, projections/),
// dependencies point one way: api → application → domain, adapters → application's ports. The
// domain imports no other layer; application imports no adapter, resolver or projection (the
// module file wires them; tests and test fixtures may compose them). Listed libs pass today; add
// one once it does.
const layeredLibs = ['conversations'];
for (const lib of layeredLibs) {
  const src = `./libs/${lib}/src`;
  const module = `${src}/${lib}.module.ts`;
  zones.push(
    {
      target: `${src}/domain`,
      from: [`${src}/application`, `${src}/adapters`, `${src}/api`, `${src}/projections`, module],
      message: 'the domain depends on no other layer (api → application → domain)',
    },
    {
      // Specs and application/testing/ compose adapters like the module does.
      target: [`${src}/application/!(*.spec).ts`, `${src}/application/!(testing)/**/!(*.spec).ts`],
      from: [`${src}/adapters`, `${src}/api`, `${src}/projections`, module],
      message:
        'application depends on ports, not adapters, resolvers or projections (the module wires them)',
    },
    {
      target: `${src}/adapters`,
      from: [`${src}/api`, module],
      message: 'adapters implement application ports; they do not import the api',
    },
  );
}
zones.push({
  target: './apps',
  from: './libs',
  except: libs.flatMap((l) => [`./${l}/src/index.ts`, `./${l}/src/manifest.ts`]),
  message: 'apps import libs through @ledgerline/<lib> only',
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'coverage/**',
      '**/*.mjs',
      '**/*.js',
      'jest.config.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // A lib's manifest is its second entry point: its tables, permissions and access
              // actions without the rest of it (docs/adr/0027).
              regex: '^@ledgerline/[^/]+/(?!manifest$)',
              message: 'import a lib through its index (or its manifest) only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.contract.ts', '**/testing/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and the bench may also use a lib's test peers and fixtures (`@ledgerline/<lib>/testing`).
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@ledgerline/[^/]+/(?!manifest$|testing$)',
              message: 'import a lib through its index, its manifest or its testing entry only',
            },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
