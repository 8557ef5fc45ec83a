import type { Principal } from '@ledgerline/identity';
import { LedgerlineError, NotFoundError, type GlobalPosition } from '@ledgerline/kernel';
import { RealtimeRequestError } from '../protocol/realtime-errors';
import type { FeedItem, RealtimeFeed } from './realtime-feed.port';

/** Where a connection's frames go: the connection's bounded send buffer. */
export interface FeedOutput {
  /** Sends a frame; false when the connection can take no more (it is closing). */
  send(frame: string): boolean;
  /** Counts bytes held back for later against the send buffer; false when over its cap (closing). */
  hold(bytes: number): boolean;
  release(bytes: number): void;
  /** Resolves once the send buffer has drained enough to send more (or the connection closed). */
  room(): Promise<void>;
  /** A conversation's live delivery stopped (its catch-up failed): the client should sync it. */
  stale(streamId: string, revision: bigint): void;
}

/** What a client says it has: the last revision it received of a stream (-1: none). */
export interface StreamCursor {
  readonly streamId: string;
  readonly revision: bigint;
}

export interface SyncRequest {
  readonly cursors: readonly StreamCursor[];
  /** Also catch up, from their start, the followed streams the request does not name. */
  readonly discover: boolean;
}

export type SyncStatus =
  /** Caught up: live from `revision` on. */
  | 'ok'
  /** Not (or no longer) readable: the client should drop it. */
  | 'not_found'
  /** Could not be read now: delivered up to `revision`; sync it again later. */
  | 'unavailable';

export interface SyncOutcome {
  readonly streamId: string;
  readonly revision: bigint;
  readonly status: SyncStatus;
}

export interface ConnectionFeedOptions {
  readonly pageSize: number;
  /** Unexpected failures of a catch-up (not a refusal, not a retryable outage): ids only. */
  readonly onError?: (streamId: string, error: unknown) => void;
  /** Each item handed to the output, live or while catching up (metrics). */
  readonly onDelivered?: (item: FeedItem, path: 'live' | 'catch_up') => void;
}

interface Cursor {
  /** The last revision sent on this connection. */
  revision: bigint;
  /** Live delivery stopped until the client syncs the stream again. */
  stale: boolean;
}

/**
 * One connection's view of the feed: which revision of each stream it has sent, and the resume
 * protocol that keeps every stream gap-free and duplicate-free on it.
 *
 * - Nothing is delivered before the first `sync`. A sync registers for live items first, then
 *   catches each stream up from the client's cursor with `read`, then delivers what arrived live
 *   meanwhile: while any catch-up runs, live items wait (in order, counted against the send
 *   buffer), and afterwards each is sent only if it is the next revision of its stream.
 * - A live item that skips revisions (the fan-out passed over one) triggers a catch-up of that
 *   stream from the last revision sent, the same way; should that fail, the stream goes stale
 *   (the client is told and must sync it) rather than have a hole.
 * - A stream first seen live (a conversation created, or joined, after the sync) starts at the
 *   item seen.
 *
 * Catch-ups run one at a time, page by page, each page only once the send buffer has room, so a
 * large catch-up never overflows a connection that reads.
 */
export class ConnectionFeed {
  private readonly cursors = new Map<string, Cursor>();
  private unregister: (() => void) | undefined;
  private holding = 0;
  private readonly held: FeedItem[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private syncing = false;
  private closed = false;

  constructor(
    private readonly feed: RealtimeFeed,
    private readonly principal: Principal,
    private readonly output: FeedOutput,
    private readonly options: ConnectionFeedOptions,
  ) {}

  /** Streams with a cursor on this connection. */
  get streamCount(): number {
    return this.cursors.size;
  }

  /** The last revision sent of a stream (undefined: none yet). */
  revisionOf(streamId: string): bigint | undefined {
    return this.cursors.get(streamId)?.revision;
  }

  /**
   * Catches the named streams (and, with `discover`, every other followed stream this connection
   * has no cursor for) up, then goes live. Answers each stream's outcome once its catch-up has
   * been sent. One sync at a time per connection.
   */
  async sync(request: SyncRequest): Promise<SyncOutcome[]> {
    if (this.syncing) {
      throw new RealtimeRequestError('invalid_state', 'a sync is already in progress', {
        reason: 'sync_in_progress',
      });
    }
    this.syncing = true;
    try {
      return await this.serialised(() => this.runSync(request));
    } finally {
      this.syncing = false;
    }
  }

  /** Stops everything: unregisters, drops what waits. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister?.();
    this.unregister = undefined;
    this.dropHeld();
  }

  // ---- sync and catch-up -----------------------------------------------------------------------

  private async runSync(request: SyncRequest): Promise<SyncOutcome[]> {
    const first = this.unregister === undefined;
    if (first) {
      await this.feed.whenLive(this.principal);
      if (this.closed) return [];
      this.unregister = this.feed.live(this.principal, (item) => this.onLive(item));
    }
    this.holding += 1;
    let failed = false;
    try {
      const targets = new Map<string, bigint>();
      const outcomes: SyncOutcome[] = [];
      // The named streams are decided in one go: an unreadable one costs no read and no record.
      const readable =
        request.cursors.length === 0
          ? new Set<string>()
          : await this.feed.readable(
              this.principal,
              request.cursors.map((c) => c.streamId),
            );
      for (const cursor of request.cursors) {
        if (readable.has(cursor.streamId)) {
          targets.set(cursor.streamId, cursor.revision);
        } else if (!outcomes.some((o) => o.streamId === cursor.streamId)) {
          this.cursors.delete(cursor.streamId);
          outcomes.push({
            streamId: cursor.streamId,
            revision: cursor.revision,
            status: 'not_found',
          });
        }
      }
      if (request.discover) {
        for (const streamId of await this.feed.streams(this.principal)) {
          if (!targets.has(streamId) && !this.cursors.has(streamId)) targets.set(streamId, -1n);
        }
      }
      for (const [streamId, after] of targets) {
        if (this.closed) break;
        outcomes.push(await this.catchUp(streamId, after));
      }
      return outcomes;
    } catch (error) {
      failed = true;
      if (first) {
        // Nothing was delivered: back to where the connection was before, so a retried first
        // sync starts clean instead of after live items the client never placed.
        this.unregister?.();
        this.unregister = undefined;
        this.cursors.clear();
        this.dropHeld();
      }
      throw error;
    } finally {
      this.holding -= 1;
      if (!(failed && first)) this.drain();
    }
  }

  /** Sends a stream's items after `after`, page by page; records where it got to. */
  private async catchUp(
    streamId: string,
    after: bigint,
    atLeast?: GlobalPosition,
  ): Promise<SyncOutcome> {
    let revision = after;
    try {
      for (;;) {
        const page = await this.feed.read(
          this.principal,
          streamId,
          revision,
          this.options.pageSize,
          atLeast,
        );
        for (const item of page.items) {
          if (item.revision <= revision) continue;
          // Only as fast as the client reads: a catch-up never overflows a connection that does.
          await this.output.room();
          if (this.closed || !this.output.send(item.frame)) return this.gone(streamId, revision);
          this.options.onDelivered?.(item, 'catch_up');
          revision = item.revision;
        }
        if (!page.more || page.items.length === 0) break;
      }
      this.cursors.set(streamId, { revision, stale: false });
      return { streamId, revision, status: 'ok' };
    } catch (error) {
      if (error instanceof NotFoundError) {
        this.cursors.delete(streamId);
        return { streamId, revision, status: 'not_found' };
      }
      if (!(error instanceof LedgerlineError && error.retryable)) {
        this.options.onError?.(streamId, error);
      }
      this.cursors.set(streamId, { revision, stale: true });
      return { streamId, revision, status: 'unavailable' };
    }
  }

  private gone(streamId: string, revision: bigint): SyncOutcome {
    return { streamId, revision, status: 'unavailable' };
  }

  /** A stream's live items skipped a revision: catch it up from the last one sent. */
  private heal(item: FeedItem, from: bigint): void {
    this.holding += 1;
    // It came before everything still waiting.
    if (!this.output.hold(item.bytes)) {
      this.holding -= 1;
      return;
    }
    this.held.unshift(item);
    void this.serialised(async () => {
      try {
        const outcome = await this.catchUp(item.streamId, from, item.position);
        if (outcome.status === 'unavailable' && !this.closed) {
          this.output.stale(item.streamId, outcome.revision);
        }
      } finally {
        this.holding -= 1;
        this.drain();
      }
    });
  }

  // ---- live ------------------------------------------------------------------------------------

  private onLive(item: FeedItem): void {
    if (this.closed) return;
    if (this.holding > 0) {
      if (this.output.hold(item.bytes)) this.held.push(item);
      return;
    }
    this.dispatch(item);
  }

  private dispatch(item: FeedItem): void {
    const cursor = this.cursors.get(item.streamId);
    if (cursor === undefined) {
      if (this.output.send(item.frame)) {
        this.cursors.set(item.streamId, { revision: item.revision, stale: false });
        this.options.onDelivered?.(item, 'live');
      }
      return;
    }
    if (cursor.stale || item.revision <= cursor.revision) return;
    if (item.revision === cursor.revision + 1n) {
      if (this.output.send(item.frame)) {
        cursor.revision = item.revision;
        this.options.onDelivered?.(item, 'live');
      }
      return;
    }
    this.heal(item, cursor.revision);
  }

  /** Delivers what waited, in order, until a catch-up starts again. */
  private drain(): void {
    while (this.holding === 0 && !this.closed) {
      const item = this.held.shift();
      if (!item) return;
      this.output.release(item.bytes);
      this.dispatch(item);
    }
  }

  private dropHeld(): void {
    for (const item of this.held.splice(0)) this.output.release(item.bytes);
  }

  /** Runs `fn` after every earlier catch-up of this connection has settled. */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
