import type { SqlExecutor } from '@ledgerline/database';
import type {
  ConversationProjection,
  ProjectedEvent,
  SentMessage,
} from './conversation-projection';

/**
 * Every version of every message: the original (edit 0) and each edit, by reference to the sealed
 * event that holds its text. A redaction deletes the message's versions: its content is gone from
 * every member-facing read, its history included.
 */
export const messageEditsProjection: ConversationProjection = {
  name: 'message-edits',
  tables: ['ll_conv_message_edits'],
  async apply(tx: SqlExecutor, p: ProjectedEvent): Promise<void> {
    const e = p.event;
    if (!e) return;
    const key = [p.tenantId, p.conversationId];
    switch (e.type) {
      case 'MessageSent':
        return writeSent(tx, [{ ...p, event: e }]);
      case 'MessageEdited':
        await tx.query(
          `insert into ll_conv_message_edits (tenant_id, conversation_id, message_id, edit_number, revision,
             edited_at, editor_id)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [
            ...key,
            e.data.messageId,
            e.data.editNumber,
            p.revision.toString(),
            e.data.at,
            e.data.actor.id,
          ],
        );
        return;
      case 'MessageRedacted':
        await tx.query(
          'delete from ll_conv_message_edits where tenant_id = $1 and conversation_id = $2 and message_id = $3',
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
      case 'ReactionAdded':
      case 'ReactionRemoved':
      case 'MessagesDelivered':
      case 'MessagesRead':
        return;
    }
  },
  applySent: writeSent,
};

/** The original version (edit 0) of each message sent, in one insert. */
async function writeSent(tx: SqlExecutor, run: readonly SentMessage[]): Promise<void> {
  await tx.query(
    `insert into ll_conv_message_edits (tenant_id, conversation_id, message_id, edit_number, revision,
         edited_at, editor_id)
       select t, c, m, 0, r, at, a
       from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[])
         as u(t, c, m, r, at, a)`,
    [
      run.map((p) => p.tenantId),
      run.map((p) => p.conversationId),
      run.map((p) => p.event.data.messageId),
      run.map((p) => p.revision.toString()),
      run.map((p) => p.event.data.at),
      run.map((p) => p.event.data.actor.id),
    ],
  );
}
