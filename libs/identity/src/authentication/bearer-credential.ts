import { AuthenticationError } from '../identity.errors';

/**
 * The credential in an `Authorization: Bearer <credential>` header. Undefined when there is no
 * header (the authenticator then reports `missing`); any other scheme is `malformed`.
 */
export function bearerCredential(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match) throw new AuthenticationError('malformed');
  return match[1];
}
