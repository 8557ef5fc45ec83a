import { decodePosition, encodePosition, type GlobalPosition } from '@ledgerline/kernel';

const PREFIX = 'audit.v1:';

/**
 * Where a paged read of the audit log is: after which row, and the log as of which position (the
 * snapshot its first page fixed, so later pages never show rows appended since, the reader's own
 * access records among them).
 */
export interface AuditCursor {
  readonly after: GlobalPosition;
  readonly asOf: GlobalPosition;
}

/** An opaque (base64url) token, so that clients do not build or edit one. */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return Buffer.from(
    `${PREFIX}${encodePosition(cursor.after)}:${encodePosition(cursor.asOf)}`,
    'utf8',
  ).toString('base64url');
}

/** The cursor a token stands for; undefined for anything `encodeAuditCursor` did not make. */
export function decodeAuditCursor(token: string): AuditCursor | undefined {
  if (token.length === 0 || token.length > 128 || !/^[A-Za-z0-9_-]+$/.test(token)) {
    return undefined;
  }
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  const [after, asOf, ...rest] = text.slice(PREFIX.length).split(':');
  if (after === undefined || asOf === undefined || rest.length > 0) return undefined;
  const cursor = { after: decodePosition(after), asOf: decodePosition(asOf) };
  if (!cursor.after || !cursor.asOf) return undefined;
  const decoded = { after: cursor.after, asOf: cursor.asOf };
  // One token per cursor (no padding or other spellings).
  return encodeAuditCursor(decoded) === token ? decoded : undefined;
}
