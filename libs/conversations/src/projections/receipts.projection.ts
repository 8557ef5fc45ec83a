import type { SqlExecutor } from '@ledgerline/database';
import type { ConversationProjection, ProjectedEvent } from './conversation-projection';

/**
 * Receipts: how far each device of each member has received (delivery marks) and how far each
 * member has read (read marks). Marks only move forwards, as in the decider. A member who leaves
 * keeps their marks: they are facts about what happened while they were in.
 */
export const receiptsProjection: ConversationProjection = {
  name: 'receipts',
  tables: ['ll_conv_deliveries', 'll_conv_reads'],
  async apply(tx: SqlExecutor, p: ProjectedEvent): Promise<void> {
    const e = p.event;
    if (!e) return;
    const key = [p.tenantId, p.conversationId];
    switch (e.type) {
      case 'MessagesDelivered':
        await tx.query(
          `insert into ll_conv_deliveries (tenant_id, conversation_id, member_id, device_id, up_to_sequence,
             up_to_message_id, marked_at)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (tenant_id, conversation_id, member_id, device_id) do update
             set up_to_sequence = excluded.up_to_sequence, up_to_message_id = excluded.up_to_message_id,
                 marked_at = excluded.marked_at
             where ll_conv_deliveries.up_to_sequence < excluded.up_to_sequence`,
          [
            ...key,
            e.data.actor.id,
            e.data.deviceId,
            e.data.upToSequence,
            e.data.upToMessageId,
            e.data.at,
          ],
        );
        return;
      case 'MessagesRead':
        await tx.query(
          `insert into ll_conv_reads (tenant_id, conversation_id, member_id, up_to_sequence, up_to_message_id,
             marked_at)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (tenant_id, conversation_id, member_id) do update
             set up_to_sequence = excluded.up_to_sequence, up_to_message_id = excluded.up_to_message_id,
                 marked_at = excluded.marked_at
             where ll_conv_reads.up_to_sequence < excluded.up_to_sequence`,
          [...key, e.data.actor.id, e.data.upToSequence, e.data.upToMessageId, e.data.at],
        );
        return;
      case 'DirectConversationCreated':
      case 'GroupConversationCreated':
      case 'MemberAdded':
      case 'MemberRemoved':
      case 'MemberLeft':
      case 'MemberRoleChanged':
      case 'ConversationRenamed':
      case 'ConversationArchived':
      case 'ConversationUnarchived':
      case 'MessageSent':
      case 'MessageEdited':
      case 'MessageRedacted':
      case 'ReactionAdded':
      case 'ReactionRemoved':
        return;
    }
  },
};
