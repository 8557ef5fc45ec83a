import type { AccessAction, Principal } from '@ledgerline/identity';
import type { ConversationReadModels } from './conversation-read-models.port';
import {
  messageContent,
  messageView,
  reactionCounts,
  type EditHistory,
  type MessageReactions,
  type MessageView,
  type Page,
  type PageRequest,
} from './conversation-queries.views';
import type { MessageRecord } from './message-history-reads.port';
import { brokenIds } from './read-outcomes';
import type { PageRequests } from './page-requests';
import type { AuthorizedRead, ReadRecords } from './read-records';
import type { OpenedContent, SealedContents } from './sealed-contents';

/**
 * Reads of a conversation's messages that passed their checks (ConversationQueries): the rows from
 * the message-history, message-edits and reactions read models, what users typed opened from the
 * sealed events, and each read of PHI recorded with what it really disclosed before it is answered.
 */
export class MessageReads {
  constructor(
    private readonly readModels: Pick<
      ConversationReadModels,
      'messageHistory' | 'messageEdits' | 'reactions'
    >,
    private readonly contents: SealedContents,
    private readonly records: ReadRecords,
    private readonly pages: PageRequests,
  ) {}

  /** A page of a conversation's messages, or (with `threadRoot`) the root and a page of its replies. */
  page(
    principal: Principal,
    reading: AuthorizedRead,
    action: AccessAction,
    request: PageRequest,
  ): Promise<Page<MessageView>>;
  page(
    principal: Principal,
    reading: AuthorizedRead,
    action: AccessAction,
    request: PageRequest,
    threadRoot: MessageRecord,
  ): Promise<{ root: MessageView; page: Page<MessageView> }>;
  async page(
    principal: Principal,
    reading: AuthorizedRead,
    action: AccessAction,
    request: PageRequest,
    threadRoot?: MessageRecord,
  ): Promise<Page<MessageView> | { root: MessageView; page: Page<MessageView> }> {
    const { conversationId, streamId } = reading;
    const page = this.pages.parse(request);
    const records = await this.readModels.messageHistory.page(principal.tenantId, conversationId, {
      threadRootId: threadRoot?.messageId,
      from: page.cursor,
      backwards: page.backwards,
      limit: page.limit + 1,
    });
    const more = records.length > page.limit;
    const taken = records.slice(0, page.limit);
    if (page.backwards) taken.reverse();
    const shown = threadRoot ? [threadRoot, ...taken] : taken;
    const views = await this.records.disclose(
      this.records.of(principal, action, reading, shown),
      () => this.views(streamId, shown),
      (v) =>
        new Set(v.filter((m) => m.content.status === 'integrity_failed').map((m) => m.messageId)),
    );
    const items = threadRoot ? views.slice(1) : views;
    const result: Page<MessageView> = {
      items,
      more,
      startCursor: items[0]?.cursor,
      endCursor: items[items.length - 1]?.cursor,
    };
    return threadRoot ? { root: views[0]!, page: result } : result;
  }

  /** Every version of a message, oldest first (none once it is redacted). */
  async editHistory(
    principal: Principal,
    reading: AuthorizedRead,
    message: MessageRecord,
  ): Promise<EditHistory> {
    const { messageId } = message;
    if (message.redacted) {
      await this.records.read(principal, 'phi.edit_history.read', reading, [message]);
      return { messageId, redacted: true, versions: [] };
    }
    const versions = await this.readModels.messageEdits.versions(
      principal.tenantId,
      reading.conversationId,
      messageId,
    );
    const opened = await this.records.disclose(
      this.records.of(principal, 'phi.edit_history.read', reading, [message]),
      () =>
        this.contents.open(
          reading.streamId,
          versions.map((v) => v.revision),
        ),
      (o) =>
        brokenIds(
          versions,
          o,
          () => messageId,
          (v) => v.revision,
        ),
    );
    return {
      messageId,
      redacted: false,
      versions: versions.map((v) => ({
        editNumber: v.editNumber,
        at: v.editedAt,
        editorId: v.editorId,
        content: messageContent(false, opened.get(v.revision)),
      })),
    };
  }

  /** Who reacted to a message with what; the emoji are opened from the sealed events. */
  async reactions(
    principal: Principal,
    reading: AuthorizedRead,
    messageId: string,
  ): Promise<MessageReactions> {
    const rows = await this.readModels.reactions.reactionsTo(
      principal.tenantId,
      reading.conversationId,
      messageId,
    );
    const opened = await this.contents.open(
      reading.streamId,
      rows.map((r) => r.revision),
    );
    return { messageId, ...reactionCounts(rows, opened, principal.id) };
  }

  private async views(streamId: string, records: readonly MessageRecord[]): Promise<MessageView[]> {
    const revisions = records
      .filter((r) => !r.redacted && r.textRevision !== undefined)
      .map((r) => r.textRevision!);
    const opened =
      revisions.length === 0
        ? new Map<bigint, OpenedContent>()
        : await this.contents.open(streamId, revisions);
    return records.map((r) => messageView(r, opened));
  }
}
