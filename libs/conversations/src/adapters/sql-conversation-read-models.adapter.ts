import type { SqlExecutor } from '@ledgerline/database';
import type { ConversationReadModels } from '../application/queries/conversation-read-models.port';
import { SqlConversationListReads } from './sql-conversation-list-reads.adapter';
import { SqlMessageEditsReads } from './sql-message-edits-reads.adapter';
import { SqlMessageHistoryReads } from './sql-message-history-reads.adapter';
import { SqlReactionsReads } from './sql-reactions-reads.adapter';
import { SqlReceiptsReads } from './sql-receipts-reads.adapter';

/**
 * The conversations read models in PostgreSQL/PGlite, as ConversationQueries reads them (migrated
 * at start or by `ledgerline migrate`, with the projections that write them).
 */
export function sqlConversationReadModels(db: SqlExecutor): ConversationReadModels {
  return {
    conversationList: new SqlConversationListReads(db),
    messageHistory: new SqlMessageHistoryReads(db),
    messageEdits: new SqlMessageEditsReads(db),
    reactions: new SqlReactionsReads(db),
    receipts: new SqlReceiptsReads(db),
  };
}
