import { decodePosition, encodePosition, type GlobalPosition } from './position';

// The moment a point-in-time read is as of. Generic (a time or a `$all` position): conversations'
// replay folds to it, and the auditor's API and the CLI read it from what a person typed.

/**
 * The moment a replay is as of: a time (events recorded at or before it) or a `$all` position
 * (events at or before it). Within a stream the replay takes the prefix of events up to the first
 * one past that moment, so it never shows an edit without the message it edits.
 */
export type AsOf =
  | { readonly kind: 'time'; readonly at: Date }
  | { readonly kind: 'position'; readonly position: GlobalPosition }
  /** Everything recorded so far. */
  | { readonly kind: 'latest' };

export const LATEST: AsOf = Object.freeze({ kind: 'latest' });

// A date, or a date and time with its zone: a time without a zone would be read in whatever zone
// the process runs in, which differs between an operator's shell and the server.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads `--as-of`: a position token (`<commit>.<prepare>`, as acks and cursors carry) or an ISO
 * 8601 time with its zone (`2026-11-25T10:00:00Z`, `…+01:00`), or a date (its UTC midnight).
 * Undefined for anything else.
 */
export function parseAsOf(text: string): AsOf | undefined {
  const trimmed = text.trim();
  const position = decodePosition(trimmed);
  if (position) return { kind: 'position', position };
  if (!ISO_DATE.test(trimmed) && !ISO_TIME.test(trimmed)) return undefined;
  // `new Date` rolls 2026-02-30 over to March; a calendar date must exist as written.
  const [y, m, d] = trimmed.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) {
    return undefined;
  }
  const at = new Date(trimmed);
  return Number.isNaN(at.getTime()) ? undefined : { kind: 'time', at };
}

export function formatAsOf(asOf: AsOf): string {
  switch (asOf.kind) {
    case 'time':
      return asOf.at.toISOString();
    case 'position':
      return `position ${encodePosition(asOf.position)}`;
    case 'latest':
      return 'now';
  }
}
