import {
  TooLargeError,
  isUuid,
  isValidTenantId,
  type EventStoreLimits,
  type EventToAppend,
} from '@ledgerline/kernel';
import {
  InvalidEventError,
  InvalidExpectedRevisionError,
  InvalidStreamIdError,
} from './event-store.errors';
import type { ExpectedRevision } from './event-store.port';

// Names are ids, never user text: a conservative alphabet keeps them safe in logs, URLs and SQL
// LIKE patterns, and leaves `$` to the store's own streams.
const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@=+/-]{0,199}$/;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;

export function assertValidStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || !STREAM_ID.test(streamId)) {
    throw new InvalidStreamIdError(
      'stream id must be 1-200 characters of letters, digits and _ . : @ = + / -, starting with a letter or digit',
      'streamId',
    );
  }
}

export function assertValidExpectedRevision(
  expected: unknown,
): asserts expected is ExpectedRevision {
  if (expected === 'no_stream' || expected === 'stream_exists' || expected === 'any') return;
  if (typeof expected === 'bigint' && expected >= 0n && expected < 2n ** 63n) return;
  throw new InvalidExpectedRevisionError(
    "expected revision must be 'no_stream', 'stream_exists', 'any' or a non-negative bigint",
    'expected',
  );
}

/**
 * Everything an adapter must refuse before touching storage. Throws the first problem found;
 * messages name the field and index, never a value.
 */
export function validateAppend(
  streamId: unknown,
  events: readonly EventToAppend[],
  expected: unknown,
  limits: EventStoreLimits,
): void {
  assertValidStreamId(streamId);
  assertValidExpectedRevision(expected);
  const batch: unknown = events;
  if (!Array.isArray(batch) || batch.length === 0) {
    throw new InvalidEventError('an append needs at least one event', 'events');
  }
  if (batch.length > limits.maxBatchEvents) {
    throw new InvalidEventError(
      `an append holds at most ${limits.maxBatchEvents} events, got ${batch.length}`,
      'events',
    );
  }
  const ids = new Set<string>();
  let total = 0;
  (batch as unknown[]).forEach((raw, i) => {
    const at = `events[${i}]`;
    if (typeof raw !== 'object' || raw === null)
      throw new InvalidEventError(`${at} is not an event`, at);
    const event = raw as Partial<EventToAppend>;
    if (typeof event.eventId !== 'string' || !isUuid(event.eventId)) {
      throw new InvalidEventError(`${at}.eventId must be a UUID`, `${at}.eventId`);
    }
    const id = event.eventId.toLowerCase();
    if (ids.has(id))
      throw new InvalidEventError(
        `${at}.eventId repeats an earlier event of the batch`,
        `${at}.eventId`,
      );
    ids.add(id);
    if (typeof event.type !== 'string' || !EVENT_TYPE.test(event.type)) {
      throw new InvalidEventError(
        `${at}.type must be 1-128 characters of letters, digits and _ . : -`,
        `${at}.type`,
      );
    }
    if (
      typeof event.schemaVersion !== 'number' ||
      !Number.isInteger(event.schemaVersion) ||
      event.schemaVersion < 1 ||
      event.schemaVersion > 65_535
    ) {
      throw new InvalidEventError(
        `${at}.schemaVersion must be an integer from 1 to 65535`,
        `${at}.schemaVersion`,
      );
    }
    if (!isValidTenantId(event.tenantId)) {
      throw new InvalidEventError(
        `${at}.tenantId must be 1-64 characters of letters, digits, _ and -`,
        `${at}.tenantId`,
      );
    }
    if (!(event.data instanceof Uint8Array)) {
      throw new InvalidEventError(`${at}.data must be bytes`, `${at}.data`);
    }
    if (event.data.byteLength > limits.maxEventBytes) {
      throw new TooLargeError(`${at}.data`, event.data.byteLength, limits.maxEventBytes);
    }
    const metadataBytes = metadataSize(event.metadata, at);
    if (metadataBytes > limits.maxMetadataBytes) {
      throw new TooLargeError(`${at}.metadata`, metadataBytes, limits.maxMetadataBytes);
    }
    total += event.data.byteLength + metadataBytes;
  });
  if (total > limits.maxBatchBytes) throw new TooLargeError('append', total, limits.maxBatchBytes);
}

function metadataSize(metadata: unknown, at: string): number {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidEventError(`${at}.metadata must be a JSON object`, `${at}.metadata`);
  }
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch {
    throw new InvalidEventError(`${at}.metadata must be serialisable as JSON`, `${at}.metadata`);
  }
  // PostgreSQL's jsonb cannot hold NUL; refuse it here rather than fail half-way in the database.
  if (json.includes('\\u0000')) {
    throw new InvalidEventError(`${at}.metadata must not contain NUL characters`, `${at}.metadata`);
  }
  return Buffer.byteLength(json, 'utf8');
}
