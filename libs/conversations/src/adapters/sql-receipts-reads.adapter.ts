import type { SqlExecutor } from '@ledgerline/database';
import type {
  DeliveryMarkView,
  ReadMarkView,
} from '../application/queries/conversation-queries.views';
import type { ReceiptsReads } from '../application/queries/receipts-reads.port';

/** The receipts read model (`ll_conv_deliveries`, `ll_conv_reads`). */
export class SqlReceiptsReads implements ReceiptsReads {
  constructor(private readonly db: SqlExecutor) {}

  async deliveryMarks(
    tenantId: string,
    conversationId: string,
    atLeastSequence: number,
  ): Promise<DeliveryMarkView[]> {
    const rows = await this.db.query<{
      member_id: string;
      device_id: string;
      up_to_sequence: number;
      up_to_message_id: string;
      marked_at: Date;
    }>(
      `select member_id, device_id, up_to_sequence, up_to_message_id, marked_at from ll_conv_deliveries
       where tenant_id = $1 and conversation_id = $2 and up_to_sequence >= $3
       order by member_id, device_id`,
      [tenantId, conversationId, atLeastSequence],
    );
    return rows.map((d) => ({
      memberId: d.member_id,
      deviceId: d.device_id,
      upToSequence: d.up_to_sequence,
      upToMessageId: d.up_to_message_id,
      at: d.marked_at,
    }));
  }

  async readMarks(
    tenantId: string,
    conversationId: string,
    atLeastSequence: number,
  ): Promise<ReadMarkView[]> {
    const rows = await this.db.query<{
      member_id: string;
      up_to_sequence: number;
      up_to_message_id: string;
      marked_at: Date;
    }>(
      `select member_id, up_to_sequence, up_to_message_id, marked_at from ll_conv_reads
       where tenant_id = $1 and conversation_id = $2 and up_to_sequence >= $3
       order by member_id`,
      [tenantId, conversationId, atLeastSequence],
    );
    return rows.map((r) => ({
      memberId: r.member_id,
      upToSequence: r.up_to_sequence,
      upToMessageId: r.up_to_message_id,
      at: r.marked_at,
    }));
  }
}
