import type { SqlExecutor } from '@ledgerline/database';
import type { ConversationActor } from '../domain/conversation.events';
import type {
  MessageHistoryReads,
  MessagePageRequest,
  MessageRecord,
} from '../application/queries/message-history-reads.port';

interface MessageRow {
  message_id: string;
  revision: string;
  commit_position: string;
  prepare_position: string;
  sequence: number;
  author_id: string;
  author_kind: ConversationActor['kind'];
  thread_root_id: string | null;
  sent_at: Date;
  text_revision: string | null;
  edit_count: number;
  edited_at: Date | null;
  redacted: boolean;
  redacted_at: Date | null;
  reply_count: number;
  last_reply_at: Date | null;
}

const MESSAGE_COLUMNS = `message_id, revision::text as revision, commit_position::text as commit_position,
  prepare_position::text as prepare_position, sequence, author_id, author_kind, thread_root_id, sent_at,
  text_revision::text as text_revision, edit_count, edited_at, redacted, redacted_at, reply_count, last_reply_at`;

/** The message-history read model (`ll_conv_messages`). */
export class SqlMessageHistoryReads implements MessageHistoryReads {
  constructor(private readonly db: SqlExecutor) {}

  async page(
    tenantId: string,
    conversationId: string,
    request: MessagePageRequest,
  ): Promise<MessageRecord[]> {
    const cmp = request.backwards ? '<' : '>';
    const dir = request.backwards ? 'desc' : 'asc';
    // Qualified: the select list's text aliases would otherwise shadow the numeric columns.
    const rows = await this.db.query<MessageRow>(
      `select ${MESSAGE_COLUMNS} from ll_conv_messages m
       where m.tenant_id = $1 and m.conversation_id = $2
         and ($3::text is null or m.thread_root_id = $3::text)
         and ($4::numeric is null or (m.commit_position, m.prepare_position) ${cmp} ($4::numeric, $5::bigint))
       order by m.commit_position ${dir}, m.prepare_position ${dir}
       limit $6`,
      [
        tenantId,
        conversationId,
        request.threadRootId ?? null,
        request.from?.commit.toString() ?? null,
        request.from?.prepare.toString() ?? null,
        request.limit,
      ],
    );
    return rows.map(messageRecord);
  }

  async message(
    tenantId: string,
    conversationId: string,
    messageId: string,
  ): Promise<MessageRecord | undefined> {
    const [row] = await this.db.query<MessageRow>(
      `select ${MESSAGE_COLUMNS} from ll_conv_messages
       where tenant_id = $1 and conversation_id = $2 and message_id = $3`,
      [tenantId, conversationId, messageId],
    );
    return row && messageRecord(row);
  }
}

function messageRecord(r: MessageRow): MessageRecord {
  return {
    messageId: r.message_id,
    revision: BigInt(r.revision),
    position: { commit: BigInt(r.commit_position), prepare: BigInt(r.prepare_position) },
    sequence: r.sequence,
    authorId: r.author_id,
    authorKind: r.author_kind,
    threadRootId: r.thread_root_id ?? undefined,
    sentAt: r.sent_at,
    textRevision: r.text_revision === null ? undefined : BigInt(r.text_revision),
    editCount: r.edit_count,
    editedAt: r.edited_at ?? undefined,
    redacted: r.redacted,
    redactedAt: r.redacted_at ?? undefined,
    replyCount: r.reply_count,
    lastReplyAt: r.last_reply_at ?? undefined,
  };
}
