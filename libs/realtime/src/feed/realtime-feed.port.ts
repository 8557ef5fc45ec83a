import type { Principal } from '@ledgerline/identity';
import type { GlobalPosition } from '@ledgerline/kernel';

/** One event of a followed stream (a conversation), ready to send. */
export interface FeedItem {
  /** The stream it belongs to: the conversation id. */
  readonly streamId: string;
  /** Its revision in that stream: 0, 1, 2… with no gap in the stream itself. */
  readonly revision: bigint;
  readonly position: GlobalPosition;
  /** The push frame as sent: built and serialised once, shared by every connection it goes to. */
  readonly frame: string;
  /** `frame`'s size in UTF-8 bytes. */
  readonly bytes: number;
  /**
   * When the event was appended (its recordedAt), if the feed knows it: a live item's delivery is
   * then observed in the append-to-deliver histogram.
   */
  readonly recordedAt?: Date;
}

export interface FeedPage {
  readonly items: readonly FeedItem[];
  /** More items may follow the last one (read the next page after it). */
  readonly more: boolean;
}

/**
 * The ordered streams a realtime connection follows and resumes (libs/conversations provides it).
 * Every adapter guarantees:
 *
 * - `live` hands over, in `$all` order, each item committed after the registration in a stream the
 *   principal may see, at most once. It may pass over an item (the stream then shows a gap in
 *   revisions, which the connection heals with `read`); it never hands over a stream's items out
 *   of revision order.
 * - An item committed after `whenLive()` resolved and after `live` returned is handed over live,
 *   or is visible to a `read` started after it committed: a catch-up `read` begun after `live`
 *   registered leaves no window in which an item slips between the two.
 * - `read` answers a stream's items after a revision, in revision order, every revision present
 *   (an event whose content was shredded is an item that says so), through the domain's access
 *   checks (and audit); NotFoundError when the principal may not read the stream.
 * - `streams` lists, as of no earlier than the call, every stream the principal follows.
 */
export interface RealtimeFeed {
  /**
   * Resolves once live items flow for the principal: its right to a live feed checked, and the
   * feed's start recorded as an access event; a retryable error when they do not in reasonable time.
   */
  whenLive(principal: Principal): Promise<void>;
  /** Registers `push` for live items; returns the function that unregisters. */
  live(principal: Principal, push: (item: FeedItem) => void): () => void;
  /** Ids of the streams the principal follows now (a member's conversations; none for a service). */
  streams(principal: Principal): Promise<readonly string[]>;
  /**
   * Up to `limit` items of a stream after `afterRevision` (-1: from its start). With `atLeast`,
   * first waits until the domain's read models include that position (so a membership that an
   * event just granted is known).
   */
  read(
    principal: Principal,
    streamId: string,
    afterRevision: bigint,
    limit: number,
    atLeast?: GlobalPosition,
  ): Promise<FeedPage>;
  /** Resolves when the principal may follow the stream; NotFoundError (or AccessDeniedError) otherwise. */
  canFollow(principal: Principal, streamId: string): Promise<void>;
  /**
   * Which of the named streams the principal may read, decided at once for all of them (one
   * query, however many are named): a `sync` reads only those. Those left out are refused with
   * one access record for the whole request, never one per id; AccessDeniedError when the
   * principal may read none at all.
   */
  readable(principal: Principal, streamIds: readonly string[]): Promise<ReadonlySet<string>>;
}
