import type { LibManifest } from '@ledgerline/kernel';
import type { AccessAction } from './access-recorder.port';
import type { Permission } from './permissions';

/**
 * The permissions and access actions of the libs a process composes, from their manifests: what
 * a roles file may grant and what an audit search may name (docs/adr/0027).
 */
export class AccessCatalogue {
  readonly permissions: ReadonlySet<string>;
  readonly accessActions: ReadonlySet<string>;

  constructor(libs: readonly LibManifest[]) {
    this.permissions = new Set(libs.flatMap((lib) => lib.permissions ?? []));
    this.accessActions = new Set(libs.flatMap((lib) => lib.accessActions ?? []));
  }

  isPermission(value: string): value is Permission {
    return this.permissions.has(value);
  }

  isAccessAction(value: string): value is AccessAction {
    return this.accessActions.has(value);
  }
}

/** Nest injection token for the process's AccessCatalogue. */
export const ACCESS_CATALOGUE = Symbol('AccessCatalogue');
