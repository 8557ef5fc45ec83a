import type { SqlExecutor } from '@ledgerline/database';
import type { ConversationProjection, ProjectedEvent } from './conversation-projection';

/**
 * Reactions as the sequence of adds and removes per message, each by reference to its sealed event:
 * the emoji (which a user may type as free text, e.g. a shortcode) never rests here in clear.
 * Queries open the events of one message and replay them into counts. A redaction clears the
 * message's reactions, as it does in the decider's state.
 */
export const reactionsProjection: ConversationProjection = {
  name: 'reactions',
  tables: ['ll_conv_reactions'],
  async apply(tx: SqlExecutor, p: ProjectedEvent): Promise<void> {
    const e = p.event;
    if (!e) return;
    const key = [p.tenantId, p.conversationId];
    switch (e.type) {
      case 'ReactionAdded':
      case 'ReactionRemoved':
        await tx.query(
          `insert into ll_conv_reactions (tenant_id, conversation_id, revision, message_id, member_id, added)
           values ($1, $2, $3, $4, $5, $6)`,
          [
            ...key,
            p.revision.toString(),
            e.data.messageId,
            e.data.actor.id,
            e.type === 'ReactionAdded',
          ],
        );
        return;
      case 'MessageRedacted':
        await tx.query(
          'delete from ll_conv_reactions where tenant_id = $1 and conversation_id = $2 and message_id = $3',
          [...key, e.data.messageId],
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
      case 'MessagesDelivered':
      case 'MessagesRead':
        return;
    }
  },
};
