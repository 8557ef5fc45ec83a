import type { SqlExecutor } from '@ledgerline/database';
import type { MemberRole } from '../domain/conversation.events';
import { SqlConversationMemberships } from './sql-conversation-memberships.adapter';
import type {
  ConversationListEntry,
  ConversationListReads,
  MemberConversationsRequest,
} from '../application/queries/conversation-list-reads.port';

interface ListRow {
  conversation_id: string;
  kind: 'direct' | 'group';
  archived: boolean;
  title_revision: string | null;
  created_at: Date;
  last_message_id: string | null;
  last_message_author_id: string | null;
  last_message_text_revision: string | null;
  last_message_redacted: boolean;
  last_message_at: Date | null;
  activity_commit: string;
  activity_prepare: string;
  role: MemberRole;
  unread_count: number;
  muted: boolean;
  read_up_to_sequence: number;
  peer_id: string | null;
}

/** The conversation-list read model (`ll_conv_list_conversations`, `ll_conv_list_members`). */
export class SqlConversationListReads implements ConversationListReads {
  private readonly memberships: SqlConversationMemberships;

  constructor(private readonly db: SqlExecutor) {
    this.memberships = new SqlConversationMemberships(db);
  }

  async memberConversations(
    tenantId: string,
    memberId: string,
    request: MemberConversationsRequest,
  ): Promise<ConversationListEntry[]> {
    const { before } = request;
    const rows = await this.db.query<ListRow>(
      `select c.conversation_id, c.kind, c.archived, c.title_revision::text as title_revision, c.created_at,
         c.last_message_id, c.last_message_author_id,
         c.last_message_text_revision::text as last_message_text_revision, c.last_message_redacted,
         c.last_message_at, c.activity_commit::text as activity_commit,
         c.activity_prepare::text as activity_prepare, m.role, m.unread_count, m.muted,
         m.read_up_to_sequence,
         case when c.kind = 'direct' then (
           select o.member_id from ll_conv_list_members o
           where o.tenant_id = c.tenant_id and o.conversation_id = c.conversation_id
             and o.member_id <> m.member_id
           order by o.member_id limit 1) end as peer_id
       from ll_conv_list_members m
       join ll_conv_list_conversations c
         on c.tenant_id = m.tenant_id and c.conversation_id = m.conversation_id
       where m.tenant_id = $1 and m.member_id = $2
         and ($3::boolean is null or c.archived = $3::boolean)
         and ($4::numeric is null or (c.activity_commit, c.activity_prepare) < ($4::numeric, $5::bigint))
       order by c.activity_commit desc, c.activity_prepare desc
       limit $6`,
      [
        tenantId,
        memberId,
        request.archived ?? null,
        before?.commit.toString() ?? null,
        before?.prepare.toString() ?? null,
        request.limit,
      ],
    );
    return rows.map((row) => ({
      conversationId: row.conversation_id,
      kind: row.kind,
      archived: row.archived,
      titleRevision: row.title_revision === null ? undefined : BigInt(row.title_revision),
      createdAt: row.created_at,
      // The projection sets (and clears) the last message's columns together.
      lastMessage:
        row.last_message_id === null
          ? undefined
          : {
              messageId: row.last_message_id,
              authorId: row.last_message_author_id!,
              sentAt: row.last_message_at!,
              redacted: row.last_message_redacted,
              textRevision:
                row.last_message_text_revision === null
                  ? undefined
                  : BigInt(row.last_message_text_revision),
            },
      activity: { commit: BigInt(row.activity_commit), prepare: BigInt(row.activity_prepare) },
      role: row.role,
      unreadCount: Number(row.unread_count),
      muted: row.muted,
      readUpToSequence: Number(row.read_up_to_sequence),
      peerId: row.peer_id ?? undefined,
    }));
  }

  async membersOfAll(
    tenantId: string,
    conversationIds: readonly string[],
    exceptMemberId: string,
  ): Promise<string[]> {
    if (conversationIds.length === 0) return [];
    const rows = await this.db.query<{ member_id: string }>(
      `select distinct member_id from ll_conv_list_members
             where tenant_id = $1 and conversation_id = any($2::text[]) and member_id <> $3
             order by member_id`,
      [tenantId, conversationIds, exceptMemberId],
    );
    return rows.map((r) => r.member_id);
  }

  async memberConversationIds(
    tenantId: string,
    memberId: string,
    after: string | undefined,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.db.query<{ conversation_id: string }>(
      `select conversation_id from ll_conv_list_members
       where tenant_id = $1 and member_id = $2 and ($3::text is null or conversation_id > $3::text)
       order by conversation_id
       limit $4`,
      [tenantId, memberId, after ?? null, limit],
    );
    return rows.map((r) => r.conversation_id);
  }

  membersOf(tenantId: string, conversationId: string): Promise<ReadonlySet<string>> {
    return this.memberships.membersOf(tenantId, conversationId);
  }
}
