import type { SqlExecutor } from '@ledgerline/database';
import type {
  MessageEditsReads,
  MessageVersionRecord,
} from '../application/queries/message-edits-reads.port';

/** The message-edits read model (`ll_conv_message_edits`). */
export class SqlMessageEditsReads implements MessageEditsReads {
  constructor(private readonly db: SqlExecutor) {}

  async versions(
    tenantId: string,
    conversationId: string,
    messageId: string,
  ): Promise<MessageVersionRecord[]> {
    const rows = await this.db.query<{
      edit_number: number;
      revision: string;
      edited_at: Date;
      editor_id: string;
    }>(
      `select e.edit_number, e.revision::text as revision, e.edited_at, e.editor_id
       from ll_conv_message_edits e
       where e.tenant_id = $1 and e.conversation_id = $2 and e.message_id = $3
       order by e.edit_number`,
      [tenantId, conversationId, messageId],
    );
    return rows.map((r) => ({
      editNumber: r.edit_number,
      revision: BigInt(r.revision),
      editedAt: r.edited_at,
      editorId: r.editor_id,
    }));
  }
}
