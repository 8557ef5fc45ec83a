import { readFile, writeFile } from 'node:fs/promises';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  GRAPHQL_SDL_FILE_END,
  GRAPHQL_SDL_FILE_HEADER,
  GraphQLSchemaBuilderModule,
  GraphQLSchemaFactory,
  GraphQLSchemaHost,
  type BuildSchemaOptions,
} from '@nestjs/graphql';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { ViewerResolver } from '../viewer/viewer.resolver';

/** How code-first classes become the schema, at run time and in the exported file alike. */
export const EDGE_BUILD_SCHEMA_OPTIONS: BuildSchemaOptions = {
  dateScalarMode: 'isoDate',
  numberScalarMode: 'float',
  noDuplicatedFields: true,
  addNewlineAtEnd: true,
};

/** The schema as checked in: sorted SDL under Nest's header, as `autoSchemaFile` writes it. */
export function renderSchema(schema: GraphQLSchema): string {
  return `${GRAPHQL_SDL_FILE_HEADER}${printSchema(lexicographicSortSchema(schema))}${GRAPHQL_SDL_FILE_END}`;
}

/**
 * The schema a running app serves, e.g. for the app's drift test:
 * `expect(renderSchema(servedSchema(app))).toBe(await readFile('schema.graphql', 'utf8'))`.
 */
export function servedSchema(app: INestApplicationContext): GraphQLSchema {
  return app.get(GraphQLSchemaHost).schema;
}

export interface SchemaExportOptions {
  /** Include the edge's own `me` query, as GraphqlEdgeModule does unless `viewerQuery: false`. */
  readonly viewerQuery?: boolean;
  /** Compare only: report a difference without writing. */
  readonly check?: boolean;
}

/**
 * Builds the schema the given resolver classes define, without starting anything they depend on
 * (no database, no HTTP): only their decorators are read.
 */
export async function buildSchema(
  resolvers: readonly Type<unknown>[],
  options: Pick<SchemaExportOptions, 'viewerQuery'> = {},
): Promise<GraphQLSchema> {
  const context = await NestFactory.createApplicationContext(GraphQLSchemaBuilderModule, {
    logger: false,
  });
  try {
    const all = options.viewerQuery === false ? resolvers : [ViewerResolver, ...resolvers];
    return await context.get(GraphQLSchemaFactory).create([...all], EDGE_BUILD_SCHEMA_OPTIONS);
  } finally {
    await context.close();
  }
}

/**
 * Writes the schema of `resolvers` to `file` (the checked-in `schema.graphql`), or with `check`
 * only says whether the file differs. `changed` is true when the file is (or was) out of date.
 */
export async function exportSchema(
  resolvers: readonly Type<unknown>[],
  file: string,
  options: SchemaExportOptions = {},
): Promise<{ readonly file: string; readonly changed: boolean }> {
  const text = renderSchema(await buildSchema(resolvers, options));
  const current = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const changed = current !== text;
  if (changed && !options.check) await writeFile(file, text);
  return { file, changed };
}
