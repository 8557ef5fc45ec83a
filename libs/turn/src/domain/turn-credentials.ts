import { createHmac } from 'node:crypto';

/**
 * Time-limited TURN credentials in the "TURN REST API" scheme that coturn's `use-auth-secret`
 * accepts: username `<expiry unix seconds>:<tenant>:<user>`, password
 * `base64(HMAC-SHA1(secret, username))`. coturn reads only the number before the first colon as
 * the expiry and treats the rest as opaque, so the tenant rides along for the audit trail while
 * coturn still accepts the pair; the built-in relay parses both.
 */
export interface TurnCredential {
  readonly username: string;
  readonly password: string;
  readonly expiresAt: Date;
}

export interface TurnUsername {
  readonly expiresAt: Date;
  readonly tenantId: string;
  readonly userId: string;
}

/** A tenant in a username: printable, no colon or space, short. */
const TENANT = /^[^\s:\p{Cc}]{1,128}$/u;
/** A user id (member ids are printable ASCII and may hold a colon: it is the last part). */
const USER = /^[^\s\p{Cc}]{1,128}$/u;

export function mintTurnCredential(input: {
  readonly secret: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly now: Date;
  readonly ttlSeconds: number;
}): TurnCredential {
  if (!TENANT.test(input.tenantId) || !USER.test(input.userId)) {
    throw new RangeError(
      'tenant and user ids in a TURN username must be 1-128 printable characters (no ":" in a tenant)',
    );
  }
  const expiry = Math.floor(input.now.getTime() / 1000) + input.ttlSeconds;
  const username = `${expiry}:${input.tenantId}:${input.userId}`;
  return {
    username,
    password: turnPassword(input.secret, username),
    expiresAt: new Date(expiry * 1000),
  };
}

export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/** Parses `<expiry>:<tenant>:<user>`; undefined for any other shape (prototype names included). */
export function parseTurnUsername(username: string): TurnUsername | undefined {
  const first = username.indexOf(':');
  const second = username.indexOf(':', first + 1);
  if (first <= 0 || second < 0) return undefined;
  const expiryText = username.slice(0, first);
  if (!/^\d{1,12}$/.test(expiryText)) return undefined;
  const tenantId = username.slice(first + 1, second);
  const userId = username.slice(second + 1);
  if (!TENANT.test(tenantId) || !USER.test(userId)) return undefined;
  return { expiresAt: new Date(Number(expiryText) * 1000), tenantId, userId };
}

/**
 * The passwords a username may carry, one per active secret (the first mints, every one is
 * accepted so a secret rotates without dropping calls); none when the username is malformed or
 * expired.
 */
export function acceptedPasswords(
  secrets: readonly string[],
  username: string,
  now: Date,
): { readonly parsed: TurnUsername; readonly passwords: readonly string[] } | undefined {
  const parsed = parseTurnUsername(username);
  if (!parsed || parsed.expiresAt.getTime() <= now.getTime()) return undefined;
  return { parsed, passwords: secrets.map((secret) => turnPassword(secret, username)) };
}
