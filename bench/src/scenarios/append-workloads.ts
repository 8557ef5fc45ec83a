import { randomBytes, randomUUID } from 'node:crypto';
import type { AppendResult, EventStore, ExpectedRevision } from '@ledgerline/event-store';
import { uuidV7Generator, type EventToAppend, type StreamId } from '@ledgerline/kernel';
import type { Ledger, PlainEvent } from '@ledgerline/ledger';
import { forEachConcurrently } from '../concurrently';
import type { Workload } from '../runner';

export const TENANT = 'bench';
const EVENT_TYPE = 'MessageSent';

/**
 * Streams: every worker appends only to streams of its own and starts a new one every
 * APPENDS_PER_STREAM appends (a conversation's worth), tracking the expected revision from each
 * append's result the way a command handler does. No two workers ever touch one stream, so
 * concurrency 16 measures the store (indexes, the sequence, WAL and commit, the notify queue), not
 * the per-stream row lock that serialises appends to one stream by design; the periodic new
 * stream keeps stream creation (and, sealed, a new data key) in the mix. References write the same
 * stream ids.
 */
const APPENDS_PER_STREAM = 20;

/** One worker's streams over one phase: call `at(i)` before its i-th append. */
export class WorkerStreams {
  private streamId = '';
  private expected: ExpectedRevision = 'no_stream';

  at(i: number): { readonly streamId: StreamId; readonly expected: ExpectedRevision } {
    if (i % APPENDS_PER_STREAM === 0) {
      this.streamId = newStreamId();
      this.expected = 'no_stream';
    }
    return { streamId: this.streamId, expected: this.expected };
  }

  appended(result: AppendResult): void {
    this.expected = result.nextExpectedRevision;
  }
}

/** A payload size as the `variant` column shows it. */
export function payloadLabel(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

export function newStreamId(): StreamId {
  return `conversation-${uuidV7Generator.next()}`;
}

/** A batch of `count` events with random `payloadBytes`-byte payloads and PHI-free metadata. */
export function newEvents(count: number, payloadBytes: number): EventToAppend[] {
  const correlationId = randomUUID();
  return Array.from({ length: count }, () => ({
    eventId: uuidV7Generator.next(),
    type: EVENT_TYPE,
    schemaVersion: 1,
    tenantId: TENANT,
    metadata: { actor: { id: randomUUID(), kind: 'user' }, correlationId },
    data: randomBytes(payloadBytes),
  }));
}

/** The same event as a domain hands it to the Ledger: the payload in clear, to be sealed. */
export function toPlainEvent(event: EventToAppend): PlainEvent {
  const { eventId, type, schemaVersion, metadata, data } = event;
  return { eventId, type, schemaVersion, metadata, payload: data };
}

/** `EventStore.appendToStream` of unsealed payloads: the store's own cost. */
export function storeAppendWorkload(
  store: EventStore,
  batch: number,
  payloadBytes: number,
): Workload {
  return {
    label: 'appendToStream',
    eventsPerOp: batch,
    prepare(_worker, ops) {
      const batches = Array.from({ length: ops }, () => newEvents(batch, payloadBytes));
      const streams = new WorkerStreams();
      return async (i) => {
        const { streamId, expected } = streams.at(i);
        streams.appended(await store.appendToStream(streamId, batches[i]!, expected));
      };
    },
  };
}

/** `Ledger.append` of the same payloads: seal, chain, reserve data-key uses, then append. */
export function ledgerAppendWorkload(
  ledger: Ledger,
  batch: number,
  payloadBytes: number,
): Workload {
  return {
    label: 'Ledger.append',
    eventsPerOp: batch,
    prepare(_worker, ops) {
      const batches = Array.from({ length: ops }, () =>
        newEvents(batch, payloadBytes).map(toPlainEvent),
      );
      const streams = new WorkerStreams();
      return async (i) => {
        const { streamId, expected } = streams.at(i);
        streams.appended(await ledger.append(TENANT, streamId, batches[i]!, expected));
      };
    },
  };
}

export interface SealStreamsOptions {
  readonly streams: number;
  readonly eventsPerStream: number;
  /** Events per append. */
  readonly batch: number;
  readonly payloadBytes: number;
  /** Streams sealed at the same time, each by one worker from start to end. */
  readonly concurrency: number;
  readonly signal: AbortSignal;
}

/** Untimed set-up: new streams filled through the Ledger. Returns their ids. */
export async function sealStreams(
  ledger: Ledger,
  options: SealStreamsOptions,
): Promise<StreamId[]> {
  const ids = Array.from({ length: options.streams }, newStreamId);
  await forEachConcurrently(ids, options.concurrency, options.signal, async (streamId) => {
    let expected: ExpectedRevision = 'no_stream';
    for (let done = 0; done < options.eventsPerStream; done += options.batch) {
      const count = Math.min(options.batch, options.eventsPerStream - done);
      const events = newEvents(count, options.payloadBytes).map(toPlainEvent);
      expected = (await ledger.append(TENANT, streamId, events, expected)).nextExpectedRevision;
    }
  });
  return ids;
}
