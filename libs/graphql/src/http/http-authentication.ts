import {
  AuthenticationError,
  bearerCredential,
  type Authenticator,
  type Principal,
  type RequestOrigin,
} from '@ledgerline/identity';
import { EdgeError } from '../errors/edge-error';

/**
 * Authenticates the `Authorization: Bearer …` header of a GraphQL HTTP request. A refused
 * credential ends the request before its operation is even parsed: 401 (503 while the identity
 * provider's keys are unavailable) with code UNAUTHENTICATED and the refusal's `reason`.
 */
export async function authenticateRequest(
  authenticator: Authenticator,
  authorization: string | undefined,
  origin: RequestOrigin,
): Promise<Principal> {
  try {
    return await authenticator.authenticate(bearerCredential(authorization), undefined, origin);
  } catch (error) {
    if (error instanceof AuthenticationError) throw unauthenticated(error);
    throw error;
  }
}

function unauthenticated(error: AuthenticationError): EdgeError {
  const retryLater = error.reason === 'keys_unavailable';
  return new EdgeError('UNAUTHENTICATED', error.message, {
    details: { reason: error.reason, ...(error.retryable ? { retryable: true } : {}) },
    status: retryLater ? 503 : 401,
    headers: retryLater
      ? { 'retry-after': '5' }
      : {
          'www-authenticate':
            error.reason === 'missing'
              ? 'Bearer realm="ledgerline"'
              : 'Bearer realm="ledgerline", error="invalid_token"',
        },
    cause: error,
  });
}
