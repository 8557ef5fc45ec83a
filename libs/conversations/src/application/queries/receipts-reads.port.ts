import type { DeliveryMarkView, ReadMarkView } from './conversation-queries.views';

/**
 * Reads of the receipts read model (projections/receipts.projection.ts).
 *
 * Every adapter guarantees: each method is one statement, scoped to the tenant and conversation
 * it is given; delivery marks sorted by member then device, read marks by member.
 */
export interface ReceiptsReads {
  /** Delivery marks (per device) at or past `atLeastSequence`. */
  deliveryMarks(
    tenantId: string,
    conversationId: string,
    atLeastSequence: number,
  ): Promise<DeliveryMarkView[]>;
  /** Read marks (per member) at or past `atLeastSequence`. */
  readMarks(
    tenantId: string,
    conversationId: string,
    atLeastSequence: number,
  ): Promise<ReadMarkView[]>;
}
