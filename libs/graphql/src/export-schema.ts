import 'reflect-metadata';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Type } from '@nestjs/common';
import { exportSchema } from './schema/schema-export';

// `npm run graphql:schema`: writes (or with --check, compares) the checked-in schema.graphql from
// the app's list of resolver classes, without starting the app.
//
//   node dist/libs/graphql/src/export-schema.js \
//     --resolvers dist/apps/server/src/graphql-resolvers.js[#exportName] \
//     [--out schema.graphql] [--check] [--no-viewer]
//
// The resolvers module exports an array of @Resolver classes (default export name:
// `graphqlResolvers`). Exit code 1 with --check when the file is out of date, 2 on bad usage.

const USAGE =
  'usage: export-schema --resolvers <module>[#export] [--out schema.graphql] [--check] [--no-viewer]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      resolvers: { type: 'string' },
      out: { type: 'string', default: 'schema.graphql' },
      check: { type: 'boolean', default: false },
      'no-viewer': { type: 'boolean', default: false },
    },
  });
  if (!values.resolvers) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const [modulePath = '', exportName = 'graphqlResolvers'] = values.resolvers.split('#');
  const loaded = (await import(resolve(modulePath))) as Record<string, unknown>;
  const resolvers = loaded[exportName];
  if (!Array.isArray(resolvers) || !resolvers.every((r) => typeof r === 'function')) {
    process.stderr.write(`${modulePath} does not export an array of classes as ${exportName}\n`);
    return 2;
  }
  const out = resolve(values.out);
  const { changed } = await exportSchema(resolvers as Type<unknown>[], out, {
    check: values.check,
    viewerQuery: !values['no-viewer'],
  });
  if (values.check && changed) {
    process.stderr.write(`${out} is out of date: run npm run graphql:schema and commit it\n`);
    return 1;
  }
  process.stdout.write(`${out} ${changed ? 'written' : 'up to date'}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : 'failed'}\n`);
    process.exit(1);
  },
);
