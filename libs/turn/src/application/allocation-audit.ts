import { isValidTenantId, type IdGenerator } from '@ledgerline/kernel';
import type { AccessRecorder } from '@ledgerline/identity';
import type { Ledger } from '@ledgerline/ledger';
import {
  TURN_ALLOCATION_ENDED,
  TURN_ALLOCATION_ENDED_VERSION,
  turnStreamId,
  type TurnAllocationEndedV1,
} from '../domain/allocation-ended.event';

export interface AllocationAuditLog {
  warn(fields: Record<string, unknown>): void;
}

/**
 * Where an ended allocation goes, whichever relay it came from: a sealed `TurnAllocationEnded` in
 * the user's TURN stream (`turn:<tenant>:<user>`), and an access record (`turn.allocation`) in the
 * tenant's audit log, so auditors find relay use next to every other access.
 */
export class AllocationAudit {
  constructor(
    private readonly ledger: Ledger,
    private readonly access: AccessRecorder,
    private readonly ids: IdGenerator,
    private readonly log: AllocationAuditLog,
  ) {}

  async record(event: TurnAllocationEndedV1): Promise<void> {
    if (!isValidTenantId(event.tenantId)) {
      // Only a credential minted by this deployment authenticates, so this is a misconfiguration.
      this.log.warn({
        msg: 'turn allocation of an unknown tenant id not audited',
        allocationId: event.allocationId,
      });
      return;
    }
    await this.ledger.append(
      event.tenantId,
      turnStreamId(event.tenantId, event.userId),
      [
        {
          eventId: this.ids.next(),
          type: TURN_ALLOCATION_ENDED,
          schemaVersion: TURN_ALLOCATION_ENDED_VERSION,
          metadata: { actor: { id: event.userId, kind: 'user' } },
          payload: Buffer.from(JSON.stringify(event), 'utf8'),
        },
      ],
      'any',
    );
    await this.access.record({
      tenantId: event.tenantId,
      actor: { id: event.userId, kind: 'user', roles: [] },
      action: 'turn.allocation',
      outcome: 'allowed',
      resourceType: 'turn_allocation',
      targetIds: [event.allocationId],
      subjectUserIds: [event.userId],
      origin: { transport: 'internal', clientAddress: event.clientAddress },
    });
  }
}
