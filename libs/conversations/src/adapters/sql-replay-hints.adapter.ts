import type { SqlExecutor } from '@ledgerline/database';
import type { ReplayHints } from '../domain/conversation.replay';
import type { ReplayHintSource } from '../application/queries/replay-hints.port';

/**
 * Hints from the conversations read models, which projected each event's message id before its
 * key was shredded (a read model rebuilt after the shred no longer has them, and the replay then
 * shows those messages unidentified).
 */
export class SqlReplayHints implements ReplayHintSource {
  private constructor(private readonly db: SqlExecutor) {}

  /** Over the conversations read models (migrated at start or by `ledgerline migrate`). */
  static over(db: SqlExecutor): SqlReplayHints {
    return new SqlReplayHints(db);
  }

  async hintsFor(
    tenantId: string,
    conversationId: string,
    revisions: readonly bigint[],
  ): Promise<ReplayHints> {
    if (revisions.length === 0) return { messageIdsByRevision: new Map() };
    const wanted = revisions.map((r) => r.toString());
    const rows = await this.db.query<{ revision: string; message_id: string }>(
      `select revision::text as revision, message_id from ll_conv_messages
         where tenant_id = $1 and conversation_id = $2 and revision = any($3::bigint[])
       union all
       select revision::text, message_id from ll_conv_message_edits
         where tenant_id = $1 and conversation_id = $2 and edit_number > 0
           and revision = any($3::bigint[])
       union all
       select revision::text, message_id from ll_conv_reactions
         where tenant_id = $1 and conversation_id = $2 and revision = any($3::bigint[])`,
      [tenantId, conversationId, wanted],
    );
    return { messageIdsByRevision: new Map(rows.map((r) => [BigInt(r.revision), r.message_id])) };
  }
}
