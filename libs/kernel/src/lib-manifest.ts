import type { ConfigSlice } from './config/config-slice';

/** One schema change, owned by one lib's namespace. Applied migrations must never be edited. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The migrations of one namespace (a lib may own more than one, each versioned on its own). */
export interface SchemaPart {
  readonly namespace: string;
  readonly migrations: readonly Migration[];
}

/**
 * What a lib brings to the process that composes it: its configuration slice, its tables, the
 * permissions its handlers check, the access actions its records name. Each lib exports one (`<lib>/src/manifest.ts`, loaded
 * without the rest of the lib); an app composes the manifests of the libs it runs, so a new lib
 * edits no central list in the kernel or identity (docs/adr/0027).
 */
export interface LibManifest {
  readonly name: string;
  /** The environment variables it reads and its settings from them (`config.slice(...)`). */
  readonly config?: ConfigSlice<unknown>;
  /** In the order a fresh database takes them; libs are migrated in dependency order. */
  readonly schema?: readonly SchemaPart[];
  readonly permissions?: readonly string[];
  readonly accessActions?: readonly string[];
}

/** Every schema part of `libs`, in order, each namespace once. */
export function schemaOf(libs: readonly LibManifest[]): SchemaPart[] {
  const seen = new Set<string>();
  const parts: SchemaPart[] = [];
  for (const lib of libs) {
    for (const part of lib.schema ?? []) {
      if (seen.has(part.namespace)) continue;
      seen.add(part.namespace);
      parts.push(part);
    }
  }
  return parts;
}
