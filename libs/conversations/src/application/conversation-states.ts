import { LRUCache } from 'lru-cache';
import type { GlobalPosition } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import { isConversationEventType, type ConversationEvent } from '../domain/conversation.events';
import {
  foldConversation,
  initialConversationState,
  type ConversationState,
} from '../domain/conversation.state';
import { decodeConversationEvent } from './conversation-events.codec';
import type {
  ConversationSnapshotRecord,
  ConversationSnapshotStore,
} from './conversation-snapshots.port';
import { ConversationShreddedError } from './conversations.errors';

/** Where a message's `MessageSent` event landed: what an ack (or a retried send's ack) carries. */
export interface MessagePlacement {
  readonly revision: bigint;
  readonly position: GlobalPosition;
}

/** A conversation's decided state and where in its stream it stands. */
export interface LoadedConversation {
  readonly streamId: string;
  readonly state: ConversationState;
  /** Revision of the last event folded into `state`; -1n when the stream has no events. */
  readonly revision: bigint;
  /** Event id at `revision`: a stream whose event there changed (a restored backup) is reloaded. */
  readonly lastEventId: string | undefined;
  /** Revision of the newest snapshot known to exist; -1n for none. */
  readonly snapshotRevision: bigint;
}

export interface ConversationStatesOptions {
  /** Streams kept in memory. */
  readonly maxStreams?: number;
  /**
   * How long a cached state is trusted without being rebuilt. Catch-up reads only events after
   * the cached revision, so a shred elsewhere (which leaves the cache readable) is noticed only
   * when the entry expires: keep this no longer than the data-key cache's own maximum age.
   */
  readonly maxAgeMs?: number;
  /** Events read per page when catching up. */
  readonly pageSize?: number;
  /** Message placements remembered per stream, for acks of retried sends. */
  readonly placementsPerStream?: number;
}

/** What loading cost: for metrics, and for tests that prove catch-up reads only what is new. */
export interface ConversationStatesStats {
  cacheHits: number;
  cacheMisses: number;
  snapshotsLoaded: number;
  /** Events opened and folded (events already in the state are not counted). */
  eventsFolded: number;
}

/** Above any real revision: a backwards read from here starts at the stream's last event. */
const LAST_POSSIBLE_REVISION = 2n ** 63n - 1n;

interface Entry {
  loaded: LoadedConversation;
  /** Newest first-seen last: a bounded map of message id → placement. */
  readonly placements: Map<string, MessagePlacement>;
}

/**
 * Decided conversation state, cached per stream and brought up to date by reading only the events
 * after the cached revision. On a miss it starts from the stream's snapshot (when one opens) and
 * folds the events after it.
 *
 * Catch-up reads the stream's last event, then (when there is anything new) the event at the
 * cached revision along with the newer ones, so the ledger verifies the chain from the state's own
 * last event. A stream whose event at the cached revision changed (a restored backup) is reloaded.
 *
 * Not safe for concurrent loads of one stream that then store: the command handler serialises
 * commands per stream.
 */
export class ConversationStates {
  readonly stats: ConversationStatesStats = {
    cacheHits: 0,
    cacheMisses: 0,
    snapshotsLoaded: 0,
    eventsFolded: 0,
  };
  private readonly cache: LRUCache<string, Entry>;
  private readonly pageSize: number;
  private readonly placementsPerStream: number;

  constructor(
    private readonly ledger: Pick<Ledger, 'readStream'>,
    private readonly snapshots: ConversationSnapshotStore,
    options: ConversationStatesOptions = {},
  ) {
    this.cache = new LRUCache({
      max: options.maxStreams ?? 10_000,
      ttl: options.maxAgeMs ?? 300_000,
      updateAgeOnGet: false,
    });
    this.pageSize = options.pageSize ?? 500;
    this.placementsPerStream = options.placementsPerStream ?? 1_000;
  }

  /**
   * The stream's current state (as far as committed events go). With `cached`, a state held in
   * memory is returned as it is, without reading the stream (the command runner's append at its
   * revision proves it current, or the runner loads again without `cached`).
   */
  async load(
    tenantId: string,
    streamId: string,
    options: { readonly cached?: boolean } = {},
  ): Promise<LoadedConversation> {
    const cached = this.cache.get(streamId);
    if (cached && options.cached) {
      this.stats.cacheHits += 1;
      return cached.loaded;
    }
    if (cached) {
      this.stats.cacheHits += 1;
      const caughtUp = await this.catchUp(cached);
      if (caughtUp) return caughtUp;
      this.cache.delete(streamId); // the stream changed under the cache: start over
    }
    this.stats.cacheMisses += 1;
    const snapshot = await this.snapshots.load(tenantId, streamId);
    if (snapshot) {
      this.stats.snapshotsLoaded += 1;
      const fromSnapshot = await this.catchUp(this.newEntry(streamId, snapshot));
      if (fromSnapshot) return fromSnapshot;
      // The stream does not hold the event the snapshot was taken at: ignore the snapshot.
    }
    const fromStart = await this.catchUp(this.newEntry(streamId));
    if (!fromStart)
      throw new Error(`stream ${streamId}: a read from its first event came back short`);
    return fromStart;
  }

  /** Records a state the caller decided and appended (its events are at `loaded.revision`). */
  remember(loaded: LoadedConversation, placements: readonly [string, MessagePlacement][] = []) {
    let entry = this.cache.get(loaded.streamId);
    if (entry) {
      // Updated in place: the entry keeps the age of what its state was first built from.
      entry.loaded = loaded;
    } else {
      entry = { loaded, placements: new Map() };
      this.cache.set(loaded.streamId, entry);
    }
    for (const [messageId, placement] of placements)
      this.place(entry.placements, messageId, placement);
  }

  /** Where a message was appended, when this process saw its event (not from a snapshot). */
  placementOf(streamId: string, messageId: string): MessagePlacement | undefined {
    return this.cache.get(streamId)?.placements.get(messageId);
  }

  forget(streamId: string): void {
    this.cache.delete(streamId);
  }

  private newEntry(streamId: string, snapshot?: ConversationSnapshotRecord): Entry {
    return {
      loaded: {
        streamId,
        state: snapshot?.state ?? initialConversationState(),
        revision: snapshot?.revision ?? -1n,
        lastEventId: undefined,
        snapshotRevision: snapshot?.revision ?? -1n,
      },
      placements: new Map(),
    };
  }

  /**
   * Folds the events after the entry's revision into its state and caches the result; undefined
   * when the event at that revision is missing or is not the one the state was built on.
   *
   * The ledger checks a forward read that reaches the end of the stream against the stream's
   * revision read afterwards, which a concurrent append makes look like a truncation (and which
   * always fails for a read starting past the end). So the head is read first (a backwards read
   * from an explicit revision has no tail check), and then exactly the events up to it.
   */
  private async catchUp(entry: Entry): Promise<LoadedConversation | undefined> {
    const from = entry.loaded;
    const { streamId } = from;
    const [head] = await this.ledger.readStream(streamId, {
      direction: 'backwards',
      fromRevision: LAST_POSSIBLE_REVISION,
      maxCount: 1,
    });
    const headRevision = head?.revision ?? -1n;
    if (headRevision < from.revision) return undefined;
    let revision = from.revision;
    let lastEventId = from.lastEventId;
    if (head && headRevision === revision) {
      if (lastEventId !== undefined && head.eventId !== lastEventId) return undefined;
      lastEventId = head.eventId;
    }
    const events: ConversationEvent[] = [];
    // From the event the state already holds (to verify the chain from it), up to the head.
    let start = revision < 0n ? 0n : revision;
    while (revision < headRevision) {
      const count = Math.min(this.pageSize, Number(headRevision - start) + 1);
      const page = await this.ledger.readStream(streamId, { fromRevision: start, maxCount: count });
      if (page.length === 0) return undefined;
      for (const opened of page) {
        if (opened.revision <= revision) {
          // The event the state already holds: check it is still the same one, never re-fold it.
          if (lastEventId !== undefined && opened.eventId !== lastEventId) return undefined;
          continue;
        }
        // libs/files: a file's event in the stream moves the revision, not the state.
        if (!isConversationEventType(opened.type)) {
          revision = opened.revision;
          lastEventId = opened.eventId;
          continue;
        }
        if (opened.body.status === 'shredded') {
          throw new ConversationShreddedError(streamId, opened.revision);
        }
        const event = decodeConversationEvent(
          opened.type,
          opened.schemaVersion,
          opened.body.payload,
        );
        events.push(event);
        if (event.type === 'MessageSent') {
          this.place(entry.placements, event.data.messageId, {
            revision: opened.revision,
            position: opened.position,
          });
        }
        revision = opened.revision;
        lastEventId = opened.eventId;
      }
      start = page[page.length - 1]!.revision + 1n;
    }
    this.stats.eventsFolded += events.length;
    entry.loaded = {
      streamId,
      state: events.length === 0 ? from.state : foldConversation(events, from.state),
      revision,
      lastEventId,
      snapshotRevision: from.snapshotRevision,
    };
    // A cached entry is updated in place (keeping its age); a new one is cached now.
    if (this.cache.get(streamId) !== entry) this.cache.set(streamId, entry);
    return entry.loaded;
  }

  private place(map: Map<string, MessagePlacement>, messageId: string, p: MessagePlacement): void {
    map.delete(messageId);
    map.set(messageId, p);
    if (map.size > this.placementsPerStream) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
  }

  /** Forgets every cached state (key invalidations may have been missed). */
  clear(): void {
    this.cache.clear();
  }
}
