import type { Actor } from '@ledgerline/kernel';
import type { AccessActor, RequestOrigin } from './access/access-recorder.port';

/**
 * Who is making a request, once authenticated. Ids only: a display name, an e-mail address or any
 * other claim a token may carry never reaches a principal, so a principal can be logged and put in
 * audit metadata as it is.
 *
 * - `user`: an end user of the host app, authenticated by the app's JWT (`id` is its subject).
 * - `agent`: an AI assistant taking part in conversations under its own identity, also by JWT;
 *   it is audited like anyone else and gets only what its roles grant.
 * - `service`: a backend of the host app, authenticated by an API key (`id` is the key's id).
 */
export interface Principal {
  readonly kind: PrincipalKind;
  readonly id: string;
  readonly tenantId: string;
  /** Tenant-level roles, resolved to permissions by policies/roles.yaml. */
  readonly roles: readonly string[];
  /**
   * When the credential stops being accepted (JWTs: `exp` plus the configured clock tolerance, the
   * one tolerance every edge applies); a long-lived connection is closed at that time.
   */
  readonly tokenExpiresAt?: Date;
  /** The credential that authenticated this principal (an API key id), for audit. */
  readonly credentialId?: string;
  /** Where the request came from, set by the edge that authenticated it (for access records). */
  readonly origin?: RequestOrigin;
}

export type PrincipalKind = 'user' | 'service' | 'agent';

/** The actor recorded in event metadata for something this principal did. */
export function actorOf(principal: Principal): Actor {
  return { id: principal.id, kind: principal.kind };
}

/** The actor of an access record about something this principal did. */
export function accessActorOf(principal: Principal): AccessActor {
  return {
    id: principal.id,
    kind: principal.kind,
    roles: [...principal.roles],
    ...(principal.credentialId === undefined ? {} : { credentialId: principal.credentialId }),
  };
}
