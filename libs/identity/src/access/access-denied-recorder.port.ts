import type { Principal } from '../principal';
import type { AccessDenial } from '../identity.errors';
import type { Permission } from './permissions';

/** What was asked for when access was denied: ids only, never content. */
export interface ResourceRef {
  readonly tenantId: string;
  /** e.g. `conversation`, `file`. */
  readonly type?: string;
  readonly id?: string;
}

export interface AccessDenied {
  readonly principal: Principal;
  readonly permission: Permission;
  readonly denial: AccessDenial;
  readonly resource?: ResourceRef;
}

/**
 * Where every denied access check is recorded: the audit log (libs/audit implements it by
 * appending an access-denied event). There is deliberately no no-op adapter: a deployment that
 * does not audit denials is not a valid deployment.
 *
 * Every adapter guarantees: when `record` resolves, the denial is durably recorded; when it cannot
 * be recorded it rejects (it never drops a record silently). It must not throw for a principal or
 * resource it has not seen before.
 */
export interface AccessDeniedRecorder {
  record(denied: AccessDenied): Promise<void>;
}
