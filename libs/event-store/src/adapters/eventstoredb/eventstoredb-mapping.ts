import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  NotLeaderError,
  TimeoutError,
  UnavailableError as EsdbUnavailableError,
  UnsupportedError,
  convertToCommandError,
  eventTypeFilter,
  excludeSystemEvents,
  streamNameFilter,
  type Filter,
  type RecordedEvent as EsdbRecordedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import {
  LedgerlineError,
  comparePositions,
  type EventToAppend,
  type GlobalPosition,
  type RecordedEvent,
} from '@ledgerline/kernel';
import { EventStoreUnavailableError } from '../../event-store.errors';
import type { AllFilter } from '../../event-store.port';

/** Reserved metadata key holding the envelope fields EventStoreDB has no column for. */
export const ENVELOPE_KEY = '$ll';

export interface StoredEnvelope {
  readonly tenantId: string;
  readonly schemaVersion: number;
  readonly recordedAt: string;
  /** Random per append call: tells a fresh write from an idempotent no-op on read-back. */
  readonly appendId: string;
}

/** The server is older than the adapter needs; not retryable. */
export class EventStoreDbUnsupportedError extends LedgerlineError {
  readonly code = 'eventstoredb_unsupported';
}

const encoder = new TextEncoder();

/**
 * A plain Uint8Array on purpose: the client stores metadata as raw bytes only when
 * `metadata.constructor === Uint8Array`; a Buffer would be JSON-encoded as `{"type":"Buffer",…}`.
 */
export function encodeMetadata(event: EventToAppend, envelope: StoredEnvelope): Uint8Array {
  return encoder.encode(JSON.stringify({ ...event.metadata, [ENVELOPE_KEY]: envelope }));
}

export function toRecordedEvent(rec: EsdbRecordedEvent): RecordedEvent {
  if (!rec.position) {
    throw new EventStoreDbUnsupportedError(
      'EventStoreDB did not return event positions on stream reads; the adapter needs server 22.6 or later',
    );
  }
  const stored = isObject(rec.metadata) ? rec.metadata : {};
  const { [ENVELOPE_KEY]: rawEnvelope, ...metadata } = stored;
  const envelope = isObject(rawEnvelope) ? rawEnvelope : {};
  // Events written by other tools carry no envelope: fall back to what the server knows.
  return {
    streamId: rec.streamId,
    revision: rec.revision,
    position: { commit: rec.position.commit, prepare: rec.position.prepare },
    eventId: rec.id,
    type: rec.type,
    schemaVersion: typeof envelope.schemaVersion === 'number' ? envelope.schemaVersion : 1,
    tenantId: typeof envelope.tenantId === 'string' ? envelope.tenantId : '',
    recordedAt:
      typeof envelope.recordedAt === 'string' ? new Date(envelope.recordedAt) : rec.created,
    metadata,
    data: rec.data instanceof Uint8Array ? rec.data : encoder.encode(JSON.stringify(rec.data)),
  };
}

export function appendIdOf(rec: EsdbRecordedEvent): string | undefined {
  const envelope = isObject(rec.metadata) ? rec.metadata[ENVELOPE_KEY] : undefined;
  return isObject(envelope) && typeof envelope.appendId === 'string'
    ? envelope.appendId
    : undefined;
}

/** `$`-prefixed streams and types belong to EventStoreDB (links, metadata, stats, projections). */
export function isSystemEvent(rec: EsdbRecordedEvent): boolean {
  return rec.type.startsWith('$') || rec.streamId.startsWith('$');
}

export interface NormalisedFilter {
  readonly streamPrefixes?: readonly string[];
  readonly eventTypes?: readonly string[];
}

export function normaliseFilter(filter: AllFilter | undefined): NormalisedFilter {
  return {
    streamPrefixes: filter?.streamPrefixes?.length ? [...filter.streamPrefixes] : undefined,
    eventTypes: filter?.eventTypes?.length ? [...filter.eventTypes] : undefined,
  };
}

/** The exact check, applied client-side to whatever the server sends (it filters on one field only). */
export function matchesFilter(rec: EsdbRecordedEvent, filter: NormalisedFilter): boolean {
  if (isSystemEvent(rec)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((p) => rec.streamId.startsWith(p)))
    return false;
  if (filter.eventTypes && !filter.eventTypes.includes(rec.type)) return false;
  return true;
}

/**
 * The server-side part: the server filters on stream name or on event type, not both, so stream
 * prefixes win (usually the narrower) and event types become an exact-match regex otherwise.
 */
export function serverFilter(filter: NormalisedFilter): Filter {
  if (filter.streamPrefixes) return streamNameFilter({ prefixes: [...filter.streamPrefixes] });
  if (filter.eventTypes) {
    return eventTypeFilter({ regex: `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$` });
  }
  return excludeSystemEvents();
}

/** True when `position` is strictly after `after` (or there is no lower bound). */
export function isAfter(position: GlobalPosition, after: GlobalPosition | undefined): boolean {
  return after === undefined || comparePositions(position, after) > 0;
}

export async function collect<T>(read: StreamingRead<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of read) out.push(item);
  return out;
}

/** Failures where the same call may succeed later: the node is down, moving or slow. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof EsdbUnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof TimeoutError ||
    error instanceof NotLeaderError ||
    error instanceof CancelledError ||
    // Cluster discovery gives up with a plain Error (Client/discovery.js).
    (error instanceof Error && error.message.startsWith('Failed to discover'))
  );
}

/** Failures that retrying can never fix (credentials, ACLs, a bad request, an old server). */
export function isPermanent(error: unknown): boolean {
  return (
    error instanceof AccessDeniedError ||
    error instanceof InvalidArgumentError ||
    error instanceof UnsupportedError ||
    (error instanceof LedgerlineError && !error.retryable)
  );
}

/** Client errors as typed CommandErrors; raw gRPC ServiceErrors are converted first. */
export function commandError(error: unknown): unknown {
  return error instanceof Error ? convertToCommandError(error) : error;
}

/** Transient failures become EventStoreUnavailableError; anything else passes through unchanged. */
export function toStoreError(error: unknown): unknown {
  const e = commandError(error);
  if (e instanceof LedgerlineError) return e;
  if (isTransient(e))
    return new EventStoreUnavailableError('EventStoreDB is unavailable', { cause: e });
  return e;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
