import type { AccessDenied, AccessDeniedRecorder } from '@ledgerline/identity';
import type { IdGenerator } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import { auditStreamId } from './audit-stream';

/** `AccessDenied` v1: who asked for what, and why it was refused. Ids and codes only. */
export interface AccessDeniedV1 {
  readonly principal: {
    readonly id: string;
    readonly kind: string;
    readonly roles: readonly string[];
  };
  readonly permission: string;
  readonly denial: string;
  readonly resource?: { readonly tenantId: string; readonly type?: string; readonly id?: string };
}

/**
 * Records every denied access check as an `AccessDenied` event in the tenant's audit stream. The
 * append is awaited: the denial is durable before the caller answers (a failure rejects, and the
 * caller still denies).
 */
export class LedgerAccessDeniedRecorder implements AccessDeniedRecorder {
  constructor(
    private readonly ledger: Pick<Ledger, 'append'>,
    private readonly ids: IdGenerator,
  ) {}

  async record(denied: AccessDenied): Promise<void> {
    const { principal } = denied;
    const payload: AccessDeniedV1 = {
      principal: { id: principal.id, kind: principal.kind, roles: [...principal.roles] },
      permission: denied.permission,
      denial: denied.denial,
      ...(denied.resource ? { resource: { ...denied.resource } } : {}),
    };
    await this.ledger.append(
      principal.tenantId,
      auditStreamId(principal.tenantId),
      [
        {
          eventId: this.ids.next(),
          type: 'AccessDenied',
          schemaVersion: 1,
          metadata: { actor: { id: principal.id, kind: principal.kind } },
          payload: Buffer.from(JSON.stringify(payload), 'utf8'),
        },
      ],
      'any',
    );
  }
}
