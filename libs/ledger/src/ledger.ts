import { LRUCache } from 'lru-cache';
import {
  ValidationError,
  type Clock,
  type EventMetadata,
  type RecordedEvent,
  type StreamId,
} from '@ledgerline/kernel';
import {
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
} from '@ledgerline/event-store';
import { DataKeyShreddedError, type DataKeys } from '@ledgerline/crypto';
import { associatedData, decryptPayload, encryptPayload } from './event-cipher';
import { canonicalHeader, chainHash, headerOf } from './hash-chain';
import { IntegrityError, type IntegrityFailure } from './ledger.errors';
import type { SignedTails } from './signed-tails.port';
import { SEAL_KEY, sealOf, withoutSeal, type SealInfo } from './sealed-envelope';

/** An event as a domain hands it to the ledger: its payload in clear, metadata PHI-free. */
export interface PlainEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly metadata: EventMetadata;
  readonly payload: Uint8Array;
}

/** The payload of an opened event: readable, or gone because its data key was shredded. */
export type OpenedBody =
  | { readonly status: 'available'; readonly payload: Buffer }
  | { readonly status: 'shredded'; readonly keyId: string; readonly epoch: string };

/** A verified event. `metadata` is the clear metadata without the seal. */
export interface OpenedEvent extends Omit<RecordedEvent, 'data' | 'metadata'> {
  readonly metadata: EventMetadata;
  readonly body: OpenedBody;
}

/** What the ledger uses of key management: reserve a sealing key, fetch an opening key. */
export type LedgerKeys = Pick<DataKeys, 'sealingKey' | 'openingKey'>;

export interface LedgerOptions {
  readonly clock: Clock;
  /** Retention epoch of a data key sealing at `at`. Default: the UTC month, `YYYY-MM`. */
  readonly epochOf?: (at: Date) => string;
  /** Called with every integrity failure before it is thrown: raise an alert (never log payloads). */
  readonly onIntegrityFailure?: (error: IntegrityError) => void;
  /**
   * The latest signed checkpoint's view of each stream's length: a read that reaches the end of a
   * stream shorter than that fails as `stream_truncated` (a cut tail), however the store's own
   * revision counter was lowered to match.
   */
  readonly signedTails?: SignedTails;
  /** Streams whose last revision and hash are kept in memory to seal without a read. */
  readonly tipCacheSize?: number;
  /** Appends with a loose expected revision retried after losing a race. */
  readonly maxAppendAttempts?: number;
}

interface Tip {
  readonly revision: bigint; // -1n: no stream
  readonly hash: string | null;
}

const NO_STREAM_TIP: Tip = { revision: -1n, hash: null };

export const monthEpoch = (at: Date): string => at.toISOString().slice(0, 7);

/**
 * The one path events take in and out of the store. Appending seals each payload (AES-256-GCM
 * under the stream's data key for the epoch, bound to its event) and chains it to the stream's
 * previous event; reading verifies the chain and the tag before decrypting. A failed check is an
 * IntegrityError naming stream and revision, and the event is never returned as data. An event
 * whose data key was shredded opens as `{ status: 'shredded' }`, never as an error.
 */
export class Ledger {
  private readonly tips: LRUCache<StreamId, Tip>;
  private readonly epochOf: (at: Date) => string;
  private readonly maxAttempts: number;

  constructor(
    private readonly store: EventStore,
    private readonly keys: LedgerKeys,
    private readonly options: LedgerOptions,
  ) {
    this.tips = new LRUCache({ max: options.tipCacheSize ?? 10_000 });
    this.epochOf = options.epochOf ?? monthEpoch;
    this.maxAttempts = options.maxAppendAttempts ?? 5;
  }

  async append(
    tenantId: string,
    streamId: StreamId,
    events: readonly PlainEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    if (events.length === 0)
      throw new ValidationError('an append needs at least one event', 'events');
    for (let attempt = 1; ; attempt++) {
      const base = await this.sealingBase(streamId, expected);
      // The batch is sealed onto `base` and appended at exactly its revision, never at a looser
      // expectation: whatever the store accepts then extends the chain it was sealed for. A
      // retried batch is still recognised (the store answers it with the original result).
      const storeExpected: ExpectedRevision = base.revision < 0n ? 'no_stream' : base.revision;
      const recordedAt = this.options.clock.now();
      const sealed = await this.seal(tenantId, streamId, events, base, recordedAt);
      try {
        const result = await this.store.appendToStream(streamId, sealed.events, storeExpected, {
          recordedAt,
        });
        if (result.duplicate) this.tips.delete(streamId);
        else
          this.tips.set(streamId, { revision: result.nextExpectedRevision, hash: sealed.lastHash });
        return result;
      } catch (error) {
        this.tips.delete(streamId);
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        const actual = error.actual === 'no_stream' ? -1n : error.actual;
        // Lost a race that the caller's expectation allows (`any`, `stream_exists`): go again.
        if (satisfies(expected, actual) && attempt < this.maxAttempts) continue;
        throw new WrongExpectedRevisionError(streamId, expected, error.actual);
      }
    }
  }

  /**
   * The event the batch will follow. Normally the stream's tip; when the caller expects another
   * revision, the tip is re-read (a cached one may be stale: another process appended), and if the
   * expectation still differs, the event at the expected revision, so that a retried batch meets
   * the store's idempotency check and anything else its expected-revision check.
   */
  private async sealingBase(streamId: StreamId, expected: ExpectedRevision): Promise<Tip> {
    let tip = await this.tip(streamId);
    if (satisfies(expected, tip.revision)) return tip;
    this.tips.delete(streamId);
    tip = await this.tip(streamId);
    if (satisfies(expected, tip.revision)) return tip;
    const actual = tip.revision < 0n ? 'no_stream' : tip.revision;
    if (expected === 'no_stream') return NO_STREAM_TIP;
    // Ahead of the stream, or `stream_exists` on none: no batch of it can exist yet.
    if (expected === 'stream_exists' || expected === 'any' || expected > tip.revision) {
      throw new WrongExpectedRevisionError(streamId, expected, actual);
    }
    const [at] = await this.store.readStream(streamId, { fromRevision: expected, maxCount: 1 });
    if (!at || at.revision !== expected) this.fail(streamId, expected, 'chain_broken');
    return { revision: at.revision, hash: this.verifyHash(at).hash };
  }

  private async seal(
    tenantId: string,
    streamId: StreamId,
    events: readonly PlainEvent[],
    tip: Tip,
    recordedAt: Date,
  ) {
    const epoch = this.epochOf(recordedAt);
    const lease = await this.keys.sealingKey({ tenantId, streamId, epoch }, events.length);
    try {
      let prev = tip.hash;
      const out = events.map((e, i) => {
        if (SEAL_KEY in e.metadata) {
          throw new ValidationError(`metadata key "${SEAL_KEY}" is reserved`, 'metadata');
        }
        const body = encryptPayload(
          lease.key,
          associatedData({
            tenantId,
            streamId,
            eventId: e.eventId,
            type: e.type,
            schemaVersion: e.schemaVersion,
          }),
          e.payload,
        );
        const header = canonicalHeader({
          tenantId,
          streamId,
          revision: tip.revision + 1n + BigInt(i),
          eventId: e.eventId,
          type: e.type,
          schemaVersion: e.schemaVersion,
          recordedAt,
          keyId: lease.keyId,
          epoch,
          metadata: e.metadata,
        });
        const hash = chainHash(header, body, prev);
        const seal: SealInfo = { v: 1, key: lease.keyId, epoch, prev, hash };
        prev = hash;
        return {
          eventId: e.eventId,
          type: e.type,
          schemaVersion: e.schemaVersion,
          tenantId,
          metadata: { ...e.metadata, [SEAL_KEY]: seal },
          data: body,
        };
      });
      return { events: out, lastHash: prev };
    } finally {
      lease.key.fill(0);
    }
  }

  /** The stream's last revision and hash: from memory, or from its last stored event (verified). */
  private async tip(streamId: StreamId): Promise<Tip> {
    const cached = this.tips.get(streamId);
    if (cached) return cached;
    const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    if (!last) return NO_STREAM_TIP;
    const seal = this.verifyHash(last);
    return { revision: last.revision, hash: seal.hash };
  }

  /**
   * Reads a stream and opens every event, verifying the chain across the page, to the event before
   * it, and (when the page reaches the end) that no event is missing from the stream's tail.
   */
  async readStream(streamId: StreamId, options: ReadStreamOptions = {}): Promise<OpenedEvent[]> {
    const events = await this.store.readStream(streamId, options);
    const forwards = (options.direction ?? 'forwards') === 'forwards';
    const ordered = forwards ? events : [...events].reverse();
    await this.verifyChain(streamId, ordered);
    const reachedEnd = forwards
      ? events.length < (options.maxCount ?? 1_000)
      : options.fromRevision === undefined || options.fromRevision === 'end';
    if (reachedEnd) {
      // With nothing read, the page began past the last event we can vouch for: a forward read
      // from revision R must find the stream ending before R.
      const from = options.fromRevision;
      const before = forwards && typeof from === 'bigint' ? from - 1n : -1n;
      if (!(forwards && from === 'end')) {
        await this.verifyTail(streamId, ordered[ordered.length - 1]?.revision ?? before);
      }
    }
    const opened = await Promise.all(ordered.map((e) => this.openVerified(e, sealOf(e.metadata)!)));
    return forwards ? opened : opened.reverse();
  }

  private async verifyChain(streamId: StreamId, ordered: readonly RecordedEvent[]): Promise<void> {
    const first = ordered[0];
    if (!first) return;
    let prev: { revision: bigint; hash: string | null } =
      first.revision === 0n
        ? { revision: -1n, hash: null }
        : await this.previousOf(streamId, first.revision);
    for (const event of ordered) {
      const seal = this.verifyHash(event);
      if (event.revision !== prev.revision + 1n)
        this.fail(streamId, prev.revision + 1n, 'chain_broken');
      if (seal.prev !== prev.hash) this.fail(streamId, event.revision, 'chain_broken');
      prev = { revision: event.revision, hash: seal.hash };
    }
  }

  private async previousOf(streamId: StreamId, revision: bigint) {
    const [before] = await this.store.readStream(streamId, {
      direction: 'backwards',
      fromRevision: revision - 1n,
      maxCount: 1,
    });
    if (!before || before.revision !== revision - 1n)
      this.fail(streamId, revision - 1n, 'chain_broken');
    return { revision: before.revision, hash: this.verifyHash(before).hash };
  }

  /**
   * The store's own revision counter must agree with the last event read: a removed tail shows.
   * A counter ahead of the page is only an alarm when the next event is really missing (it may
   * have been appended since the page was read).
   */
  private async verifyTail(streamId: StreamId, lastRead: bigint): Promise<void> {
    const signed = await this.options.signedTails?.signedRevision(streamId);
    if (signed !== undefined && signed > lastRead) {
      // A signed checkpoint covered events past this end: they were deleted.
      this.fail(streamId, lastRead + 1n, 'stream_truncated');
    }
    const revision = await this.store.streamRevision(streamId);
    if (revision === undefined || revision <= lastRead) return;
    const [next] = await this.store.readStream(streamId, {
      fromRevision: lastRead + 1n,
      maxCount: 1,
    });
    if (next?.revision !== lastRead + 1n) this.fail(streamId, lastRead + 1n, 'stream_truncated');
  }

  /**
   * Reads a stream and opens each event on its own seal (its hash, then its tag), for a read that
   * shows what can still be trusted around an event that fails: that event comes back as its
   * IntegrityError (and is alarmed like any), the others opened. The chain between events is not
   * checked here: use `readStream` first, and this only to mark where it failed.
   */
  async readStreamEach(
    streamId: StreamId,
    options: ReadStreamOptions = {},
  ): Promise<(OpenedEvent | IntegrityError)[]> {
    const events = await this.store.readStream(streamId, options);
    return Promise.all(
      events.map((e) =>
        this.open(e).catch((error: unknown) => {
          if (error instanceof IntegrityError) return error;
          throw error;
        }),
      ),
    );
  }

  /**
   * Opens one event read from `$all` or a subscription: verifies its hash and, when given, that it
   * follows `prevHash`; then decrypts.
   */
  async open(event: RecordedEvent, prevHash?: string | null): Promise<OpenedEvent> {
    const seal = this.verifyHash(event);
    if (prevHash !== undefined && seal.prev !== prevHash)
      this.fail(event.streamId, event.revision, 'chain_broken');
    return this.openVerified(event, seal);
  }

  /**
   * A subscription to `$all` that hands over opened events. Chain continuity is checked for every
   * stream the subscription has seen the previous event of; the first event of any other stream is
   * checked against its stored predecessor.
   */
  subscribe(
    options: Omit<SubscribeOptions, 'onEvent'> & { onEvent: (event: OpenedEvent) => Promise<void> },
  ): Subscription {
    const seen = new LRUCache<StreamId, Tip>({ max: this.options.tipCacheSize ?? 10_000 });
    return this.store.subscribeToAll({
      ...options,
      onEvent: async (event) => {
        const known = seen.get(event.streamId);
        const prev =
          event.revision === 0n
            ? null
            : known && known.revision === event.revision - 1n
              ? known.hash
              : (await this.previousOf(event.streamId, event.revision)).hash;
        const opened = await this.open(event, prev);
        seen.set(event.streamId, { revision: event.revision, hash: sealOf(event.metadata)!.hash });
        await options.onEvent(opened);
      },
    });
  }

  private verifyHash(event: RecordedEvent): SealInfo {
    const seal = sealOf(event.metadata);
    if (!seal) this.fail(event.streamId, event.revision, 'seal_missing');
    if (chainHash(headerOf(event, seal), event.data, seal.prev) !== seal.hash) {
      this.fail(event.streamId, event.revision, 'hash_mismatch');
    }
    return seal;
  }

  private async openVerified(event: RecordedEvent, seal: SealInfo): Promise<OpenedEvent> {
    const { data: _data, ...rest } = event;
    const metadata = withoutSeal(event.metadata);
    let key: Buffer;
    try {
      key = await this.keys.openingKey(seal.key, {
        tenantId: event.tenantId,
        streamId: event.streamId,
      });
    } catch (error) {
      if (error instanceof DataKeyShreddedError) {
        return {
          ...rest,
          metadata,
          body: { status: 'shredded', keyId: seal.key, epoch: seal.epoch },
        };
      }
      throw error;
    }
    try {
      return {
        ...rest,
        metadata,
        body: {
          status: 'available',
          payload: decryptPayload(key, associatedData(event), event.data),
        },
      };
    } catch {
      this.fail(event.streamId, event.revision, 'decryption_failed');
    } finally {
      key.fill(0);
    }
  }

  private fail(streamId: StreamId, revision: bigint, failure: IntegrityFailure): never {
    const error = new IntegrityError(streamId, revision, failure);
    this.options.onIntegrityFailure?.(error);
    throw error;
  }
}

function satisfies(expected: ExpectedRevision, revision: bigint): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return revision < 0n;
    case 'stream_exists':
      return revision >= 0n;
    default:
      return expected === revision;
  }
}
