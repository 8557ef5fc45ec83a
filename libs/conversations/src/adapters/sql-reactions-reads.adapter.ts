import type { SqlExecutor } from '@ledgerline/database';
import type { ReactionRecord, ReactionsReads } from '../application/queries/reactions-reads.port';

/** The reactions read model (`ll_conv_reactions`). */
export class SqlReactionsReads implements ReactionsReads {
  constructor(private readonly db: SqlExecutor) {}

  async reactionsTo(
    tenantId: string,
    conversationId: string,
    messageId: string,
  ): Promise<ReactionRecord[]> {
    const rows = await this.db.query<{ revision: string; member_id: string; added: boolean }>(
      `select r.revision::text as revision, r.member_id, r.added from ll_conv_reactions r
       where r.tenant_id = $1 and r.conversation_id = $2 and r.message_id = $3
       order by r.revision`,
      [tenantId, conversationId, messageId],
    );
    return rows.map((r) => ({
      revision: BigInt(r.revision),
      memberId: r.member_id,
      added: r.added,
    }));
  }
}
