import type { Principal } from '@ledgerline/identity';
import { conversationStreamId } from '../../domain/stream-ids';
import type { ConversationListReads } from './conversation-list-reads.port';
import {
  conversationSummary,
  type ConversationSummary,
  type ListConversationsRequest,
  type Page,
} from './conversation-queries.views';
import { mapConcurrently } from './map-concurrently';
import { parseCursor, type PageRequests } from './page-requests';
import type { ReadRecords } from './read-records';
import type { OpenedContent, SealedContents } from './sealed-contents';

export interface ConversationListingOptions {
  readonly pages: PageRequests;
  /** Characters of the last message shown. */
  readonly previewChars: number;
  /** Streams opened at once. */
  readonly openConcurrency: number;
}

/**
 * A page of a member's conversation list, for a read that passed its permission check: the rows
 * from the conversation-list read model, titles and previews opened from the sealed events, and
 * the read recorded (as failed when an integrity check stopped it) before it is answered.
 */
export class ConversationListing {
  constructor(
    private readonly list: ConversationListReads,
    private readonly contents: SealedContents,
    private readonly records: ReadRecords,
    private readonly options: ConversationListingOptions,
  ) {}

  async read(
    principal: Principal,
    request: ListConversationsRequest,
  ): Promise<Page<ConversationSummary>> {
    const limit = this.options.pages.size(request.limit);
    const before = request.before === undefined ? undefined : parseCursor(request.before);
    const entries = await this.list.memberConversations(principal.tenantId, principal.id, {
      archived: request.archived,
      before,
      limit: limit + 1,
    });
    const more = entries.length > limit;
    const page = entries.slice(0, limit);
    const conversationIds = page.map((e) => e.conversationId);
    // Titles and previews are PHI of the conversations' members: the list is a read of it,
    // recorded like a history page once the contents are open.
    const opening = mapConcurrently(page, this.options.openConcurrency, async (entry) => {
      const revisions = [entry.titleRevision, entry.lastMessage?.textRevision].filter(
        (r): r is bigint => r !== undefined,
      );
      const opened =
        revisions.length === 0
          ? new Map<bigint, OpenedContent>()
          : await this.contents.open(
              conversationStreamId(principal.tenantId, entry.conversationId),
              revisions,
            );
      return conversationSummary(entry, opened, this.options.previewChars);
    });
    // Opened first, so that a list an integrity check stopped is recorded as failed, not allowed.
    const items = await opening.catch(async (error: unknown) => {
      await this.record(principal, conversationIds, error);
      throw error;
    });
    await this.record(principal, conversationIds);
    // Newest first; startCursor/endCursor follow the list's own order.
    return {
      items,
      more,
      startCursor: items[0]?.cursor,
      endCursor: items[items.length - 1]?.cursor,
    };
  }

  private async record(
    principal: Principal,
    conversationIds: string[],
    failure?: unknown,
  ): Promise<void> {
    const members = await this.list.membersOfAll(principal.tenantId, conversationIds, principal.id);
    return this.records.listRead(principal, conversationIds, members, failure);
  }
}
