import { createHash } from 'node:crypto';

export const PRESENCE_STREAM_CATEGORY = 'presence';
/** Every presence stream starts with this (the fan-out's `$all` filter). */
export const PRESENCE_STREAM_PREFIX = `${PRESENCE_STREAM_CATEGORY}:`;

/** User ids that fit a stream name as they are (and keep it within 200 characters). */
const PLAIN_USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@=+-]{0,99}$/;

/**
 * The one presence stream of a user: `presence:<tenant>:<user>`. A user id that does not fit a
 * stream name (member ids may hold any printable ASCII) is named by its SHA-256 instead, after `h/`
 * (a `/` never appears in a plain one, so the two forms cannot collide). Readers take the user id
 * from the event, never from the stream name.
 */
export function presenceStreamId(tenantId: string, userId: string): string {
  if (PLAIN_USER_ID.test(userId)) return `${PRESENCE_STREAM_PREFIX}${tenantId}:${userId}`;
  const digest = createHash('sha256').update(userId, 'utf8').digest('base64url');
  return `${PRESENCE_STREAM_PREFIX}${tenantId}:h/${digest}`;
}
