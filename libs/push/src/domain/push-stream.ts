import { createHash } from 'node:crypto';

export const PUSH_STREAM_CATEGORY = 'push';
/** Every push stream starts with this (the projection's `$all` filter). */
export const PUSH_STREAM_PREFIX = `${PUSH_STREAM_CATEGORY}:`;

const PLAIN_USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@=+-]{0,99}$/;

/**
 * The one push stream of a user: `push:<tenant>:<user>` (a user id that does not fit a stream name
 * is named by its SHA-256 after `h/`, as presence streams are). Readers take the user id from the
 * event, never from the stream name.
 */
export function pushStreamId(tenantId: string, userId: string): string {
  if (PLAIN_USER_ID.test(userId)) return `${PUSH_STREAM_PREFIX}${tenantId}:${userId}`;
  const digest = createHash('sha256').update(userId, 'utf8').digest('base64url');
  return `${PUSH_STREAM_PREFIX}${tenantId}:h/${digest}`;
}
