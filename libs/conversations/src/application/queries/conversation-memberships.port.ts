/**
 * Who is in which conversation, and so who shares one with whom, from the conversation-list read
 * model: what other libs (presence, typing, calls) need to decide visibility without reading a
 * conversation themselves. Ids only, scoped to one tenant.
 *
 * No access check and no audit: the caller decides what an answer allows, and must not pass it on
 * as an answer about a conversation.
 *
 * Every adapter guarantees: each method is one statement at most (none when it is given nothing to
 * look up), every answer is scoped to the tenant it is given, and it follows commands with the
 * read models' small delay (a member added a moment ago may not show yet); a member who left or
 * was removed no longer counts.
 */
export interface ConversationMemberships {
  isMember(tenantId: string, conversationId: string, memberId: string): Promise<boolean>;
  /** True when `a` and `b` are both members of at least one conversation (or are the same). */
  sharesConversation(tenantId: string, a: string, b: string): Promise<boolean>;
  /** Which of `candidates` share at least one conversation with `memberId` (it counts itself). */
  sharingWith(
    tenantId: string,
    memberId: string,
    candidates: readonly string[],
  ): Promise<Set<string>>;
  /**
   * Everyone who shares at least one conversation with `memberId`, itself included when it is in
   * one: for a caller with more candidates than the member has contacts (presence fan-out).
   */
  contactsOf(tenantId: string, memberId: string): Promise<Set<string>>;
  /** Every member of the conversation now. */
  membersOf(tenantId: string, conversationId: string): Promise<Set<string>>;
  /** Which of `candidates` are members of the conversation. */
  membersAmong(
    tenantId: string,
    conversationId: string,
    candidates: readonly string[],
  ): Promise<Set<string>>;
  /** Which of `conversationIds` the member is in. */
  conversationsAmong(
    tenantId: string,
    memberId: string,
    conversationIds: readonly string[],
  ): Promise<Set<string>>;
  /** Which of `conversationIds` exist in the tenant. */
  existingAmong(tenantId: string, conversationIds: readonly string[]): Promise<Set<string>>;
}
