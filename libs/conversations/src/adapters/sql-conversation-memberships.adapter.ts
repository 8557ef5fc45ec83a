import type { SqlExecutor } from '@ledgerline/database';
import type { ConversationMemberships } from '../application/queries/conversation-memberships.port';

/**
 * ConversationMemberships over the conversation-list read model (`ll_conv_list_members`,
 * `ll_conv_list_conversations`), migrated with the projections that write it.
 */
export class SqlConversationMemberships implements ConversationMemberships {
  constructor(private readonly db: SqlExecutor) {}

  async isMember(tenantId: string, conversationId: string, memberId: string): Promise<boolean> {
    const rows = await this.db.query(
      `select 1 from ll_conv_list_members
       where tenant_id = $1 and conversation_id = $2 and member_id = $3`,
      [tenantId, conversationId, memberId],
    );
    return rows.length > 0;
  }

  /** True when `a` and `b` are both members of at least one conversation (or are the same). */
  async sharesConversation(tenantId: string, a: string, b: string): Promise<boolean> {
    if (a === b) return true;
    const rows = await this.db.query(
      `select 1 from ll_conv_list_members x
       join ll_conv_list_members y
         on y.tenant_id = x.tenant_id and y.conversation_id = x.conversation_id
       where x.tenant_id = $1 and x.member_id = $2 and y.member_id = $3
       limit 1`,
      [tenantId, a, b],
    );
    return rows.length > 0;
  }

  /** Which of `candidates` share at least one conversation with `memberId` (it counts itself). */
  async sharingWith(
    tenantId: string,
    memberId: string,
    candidates: readonly string[],
  ): Promise<Set<string>> {
    const found = new Set<string>(candidates.includes(memberId) ? [memberId] : []);
    const others = [...new Set(candidates)].filter((c) => c !== memberId);
    if (others.length === 0) return found;
    const rows = await this.db.query<{ member_id: string }>(
      `select distinct y.member_id from ll_conv_list_members x
       join ll_conv_list_members y
         on y.tenant_id = x.tenant_id and y.conversation_id = x.conversation_id
       where x.tenant_id = $1 and x.member_id = $2 and y.member_id = any($3::text[])`,
      [tenantId, memberId, others],
    );
    for (const row of rows) found.add(row.member_id);
    return found;
  }

  /** Everyone who shares at least one conversation with `memberId` (itself, when it is in one). */
  async contactsOf(tenantId: string, memberId: string): Promise<Set<string>> {
    const rows = await this.db.query<{ member_id: string }>(
      `select distinct y.member_id from ll_conv_list_members x
       join ll_conv_list_members y
         on y.tenant_id = x.tenant_id and y.conversation_id = x.conversation_id
       where x.tenant_id = $1 and x.member_id = $2`,
      [tenantId, memberId],
    );
    return new Set(rows.map((r) => r.member_id));
  }

  /** Every member of the conversation now. */
  async membersOf(tenantId: string, conversationId: string): Promise<Set<string>> {
    const rows = await this.db.query<{ member_id: string }>(
      `select member_id from ll_conv_list_members where tenant_id = $1 and conversation_id = $2`,
      [tenantId, conversationId],
    );
    return new Set(rows.map((r) => r.member_id));
  }

  /** Which of `candidates` are members of the conversation. */
  async membersAmong(
    tenantId: string,
    conversationId: string,
    candidates: readonly string[],
  ): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const rows = await this.db.query<{ member_id: string }>(
      `select member_id from ll_conv_list_members
       where tenant_id = $1 and conversation_id = $2 and member_id = any($3::text[])`,
      [tenantId, conversationId, [...new Set(candidates)]],
    );
    return new Set(rows.map((r) => r.member_id));
  }

  /** Which of `conversationIds` the member is in: one query, however many are named. */
  async conversationsAmong(
    tenantId: string,
    memberId: string,
    conversationIds: readonly string[],
  ): Promise<Set<string>> {
    if (conversationIds.length === 0) return new Set();
    const rows = await this.db.query<{ conversation_id: string }>(
      `select conversation_id from ll_conv_list_members
       where tenant_id = $1 and member_id = $2 and conversation_id = any($3::text[])`,
      [tenantId, memberId, [...new Set(conversationIds)]],
    );
    return new Set(rows.map((r) => r.conversation_id));
  }

  /** Which of `conversationIds` exist in the tenant: one query, however many are named. */
  async existingAmong(tenantId: string, conversationIds: readonly string[]): Promise<Set<string>> {
    if (conversationIds.length === 0) return new Set();
    const rows = await this.db.query<{ conversation_id: string }>(
      `select conversation_id from ll_conv_list_conversations
       where tenant_id = $1 and conversation_id = any($2::text[])`,
      [tenantId, [...new Set(conversationIds)]],
    );
    return new Set(rows.map((r) => r.conversation_id));
  }
}
