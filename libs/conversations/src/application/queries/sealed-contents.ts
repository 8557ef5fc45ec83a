import type { GlobalPosition } from '@ledgerline/kernel';
import {
  IntegrityError,
  type IntegrityFailure,
  type Ledger,
  type OpenedEvent,
} from '@ledgerline/ledger';
import type { ConversationEvent } from '../../domain/conversation.events';
import { openConversationEvent } from '../conversation-events.codec';

/** An event of a conversation's stream as read back: where it is, and its content if still there. */
export interface StoredConversationEvent {
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  /** Undefined when its data key was shredded, or when it is another lib's event (`otherType`). */
  readonly event: ConversationEvent | undefined;
  /**
   * The type of an event another lib keeps in the conversation's stream (a file's upload,
   * quarantine, thumbnail, removal): readable, just not a conversation event.
   */
  readonly otherType?: string;
}

/** An event opened for a query: its content, or `unavailable` when its data key was shredded. */
export type OpenedContent =
  | { readonly status: 'available'; readonly event: ConversationEvent }
  | { readonly status: 'unavailable' }
  /** The event fails its own seal (altered in the store): never shown, marked where it sits. */
  | { readonly status: 'integrity_failed'; readonly failure: IntegrityFailure };

/**
 * Failures of one event alone: the events around it can still be opened on their own seals. A
 * broken chain or a cut tail is about the stream as a whole, and fails the whole read.
 */
const EVENT_FAILURES: ReadonlySet<IntegrityFailure> = new Set([
  'hash_mismatch',
  'decryption_failed',
  'seal_missing',
]);

/** Revisions closer than this are read in one range rather than two reads. */
const GAP = 16;
/** Longest single read. */
const MAX_RANGE = 500;

/**
 * Opens a stream's events at given revisions through the ledger (verified and decrypted), reading
 * nearby revisions as one range. This is how queries get text, titles and emoji: the read models
 * only hold the revisions, so what a user typed is decrypted per read and never rests in clear,
 * and a shredded key shows as `unavailable` everywhere at once.
 */
export class SealedContents {
  constructor(private readonly ledger: Pick<Ledger, 'readStream' | 'readStreamEach'>) {}

  async open(
    streamId: string,
    revisions: Iterable<bigint>,
  ): Promise<ReadonlyMap<bigint, OpenedContent>> {
    const wanted = [...new Set(revisions)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out = new Map<bigint, OpenedContent>();
    for (const [from, to] of ranges(wanted)) {
      const range = { fromRevision: from, maxCount: Number(to - from) + 1 };
      let events: readonly (OpenedEvent | IntegrityError)[];
      try {
        events = await this.ledger.readStream(streamId, range);
      } catch (error) {
        if (!(error instanceof IntegrityError) || !EVENT_FAILURES.has(error.failure)) throw error;
        // One event was altered: open the range again event by event, marking the broken ones.
        events = await this.ledger.readStreamEach(streamId, range);
      }
      for (const opened of events) {
        if (opened instanceof IntegrityError) {
          out.set(opened.revision, { status: 'integrity_failed', failure: opened.failure });
          continue;
        }
        const event = openConversationEvent(opened);
        out.set(
          opened.revision,
          event ? { status: 'available', event } : { status: 'unavailable' },
        );
      }
    }
    return out;
  }

  /** Up to `maxCount` consecutive events from `fromRevision`, opened, in revision order. */
  async range(
    streamId: string,
    fromRevision: bigint,
    maxCount: number,
  ): Promise<StoredConversationEvent[]> {
    const events = await this.ledger.readStream(streamId, { fromRevision, maxCount });
    return events.map((opened) => {
      const event = openConversationEvent(opened);
      return {
        eventId: opened.eventId,
        revision: opened.revision,
        position: opened.position,
        event,
        ...(event === undefined && opened.body.status === 'available'
          ? { otherType: opened.type }
          : {}),
      };
    });
  }
}

function ranges(sorted: readonly bigint[]): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r - last[1] <= GAP && r - last[0] < BigInt(MAX_RANGE)) last[1] = r;
    else out.push([r, r]);
  }
  return out;
}

/** The text an opened `MessageSent` or `MessageEdited` event holds. */
export function textOf(content: OpenedContent | undefined): string | undefined {
  if (content?.status !== 'available') return undefined;
  const e = content.event;
  return e.type === 'MessageSent' || e.type === 'MessageEdited' ? e.data.text : undefined;
}

/** The title an opened `GroupConversationCreated` or `ConversationRenamed` event holds. */
export function titleOf(content: OpenedContent | undefined): string | undefined {
  if (content?.status !== 'available') return undefined;
  const e = content.event;
  return e.type === 'GroupConversationCreated' || e.type === 'ConversationRenamed'
    ? e.data.title
    : undefined;
}
