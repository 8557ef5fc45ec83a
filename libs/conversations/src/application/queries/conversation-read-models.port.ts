import type { ConversationListReads } from './conversation-list-reads.port';
import type { MessageEditsReads } from './message-edits-reads.port';
import type { MessageHistoryReads } from './message-history-reads.port';
import type { ReactionsReads } from './reactions-reads.port';
import type { ReceiptsReads } from './receipts-reads.port';

/** The read models ConversationQueries answers from, one port per projection. */
export interface ConversationReadModels {
  readonly conversationList: ConversationListReads;
  readonly messageHistory: MessageHistoryReads;
  readonly messageEdits: MessageEditsReads;
  readonly reactions: ReactionsReads;
  readonly receipts: ReceiptsReads;
}
