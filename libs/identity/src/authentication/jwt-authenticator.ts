import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type KeyLike,
} from 'jose';
import { systemClock, type Clock } from '@ledgerline/kernel';
import { AuthenticationError, type AuthenticationFailure } from '../identity.errors';
import type { ResolvedJwtSettings } from '../identity.config';
import type { Principal } from '../principal';
import type { AuthenticationExpectation, Authenticator } from './authenticator.port';
import { principalFromClaims } from './jwt-claims';

/**
 * Asymmetric algorithms only. HS* would let anyone holding the shared secret (or, with a careless
 * verifier, the public key) mint tokens; `none` is no signature at all.
 */
export const ACCEPTED_JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

/** Larger than any sane access token; refusing early bounds the work a hostile request can cause. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** The key source failed (network, HTTP status, invalid JWKS), as opposed to "no such key". */
class KeySourceFailure extends Error {}

/**
 * Verifies the host app's JWTs against its JWKS: signature (with the key whose `kid` the token
 * names), algorithm, issuer, audience, `exp`/`nbf` with the configured tolerance, then reads the
 * subject, tenant, roles and kind from the configured claims.
 *
 * Keys are fetched on first use and cached for `jwksCacheMaxAgeMs`; an unknown `kid` triggers a
 * refetch at most once per `jwksCooldownMs` (key rotation). While the endpoint is down, cached keys
 * keep verifying until they are older than `jwksCacheMaxAgeMs`; after that, and for a `kid` the
 * cache does not have, authentication fails as `keys_unavailable`.
 */
export class JwtAuthenticator implements Authenticator {
  private readonly keys: JWTVerifyGetKey;

  constructor(
    private readonly settings: ResolvedJwtSettings,
    private readonly clock: Clock = systemClock,
  ) {
    const remote = createRemoteJWKSet(new URL(settings.jwksUrl), {
      cacheMaxAge: settings.jwksCacheMaxAgeMs,
      cooldownDuration: settings.jwksCooldownMs,
      timeoutDuration: settings.jwksTimeoutMs,
    });
    this.keys = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
      try {
        return await remote(header, token);
      } catch (error) {
        // "No key matches" and "several do" are about the token; anything else is the endpoint.
        if (error instanceof errors.JWKSNoMatchingKey) throw error;
        if (error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        throw new KeySourceFailure('JWKS unavailable', { cause: error });
      }
    };
  }

  async authenticate(
    token: string | undefined,
    expected?: AuthenticationExpectation,
  ): Promise<Principal> {
    if (token === undefined || token === '') throw new AuthenticationError('missing');
    if (token.length > MAX_TOKEN_LENGTH) throw new AuthenticationError('malformed');
    let payload: JWTPayload;
    try {
      payload = await this.verify(token);
    } catch (error) {
      const reason = failureOf(error);
      // Only a key-source failure keeps its cause (a network error). jose's claim errors carry the
      // whole payload, which can hold PHI, so they are dropped here.
      throw new AuthenticationError(
        reason,
        error instanceof KeySourceFailure ? { cause: error.cause } : undefined,
      );
    }
    const claimed = principalFromClaims(payload, this.settings);
    // One tolerance everywhere: a token accepted here stays accepted, by every edge and by the
    // timer that closes a long-lived connection, until `exp` plus the same tolerance.
    const principal: Principal =
      claimed.tokenExpiresAt === undefined
        ? claimed
        : {
            ...claimed,
            tokenExpiresAt: new Date(
              claimed.tokenExpiresAt.getTime() + this.settings.clockToleranceSec * 1000,
            ),
          };
    if (expected?.tenantId !== undefined && principal.tenantId !== expected.tenantId) {
      throw new AuthenticationError('wrong_tenant');
    }
    return principal;
  }

  private async verify(token: string): Promise<JWTPayload> {
    const options: JWTVerifyOptions = {
      algorithms: [...ACCEPTED_JWT_ALGORITHMS],
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      clockTolerance: this.settings.clockToleranceSec,
      currentDate: this.clock.now(),
      requiredClaims: ['exp', 'sub'],
    };
    try {
      return (await jwtVerify(token, this.keys, options)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      // Several published keys fit a token without `kid`: the signature decides which one it is.
      for await (const key of error as errors.JWKSMultipleMatchingKeys & AsyncIterable<KeyLike>) {
        try {
          return (await jwtVerify(token, key, options)).payload;
        } catch (attempt) {
          if (!(attempt instanceof errors.JWSSignatureVerificationFailed)) throw attempt;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }
}

function failureOf(error: unknown): AuthenticationFailure {
  if (error instanceof KeySourceFailure) return 'keys_unavailable';
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return 'wrong_audience';
      case 'iss':
        return 'wrong_issuer';
      case 'nbf':
        return 'not_yet_valid';
      default:
        return 'malformed';
    }
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JWKSNoMatchingKey
  ) {
    return 'bad_signature';
  }
  if (error instanceof errors.JOSEError) return 'malformed';
  // Not from jose: a fault of ours, not the token's. It carries no token text; let it surface.
  throw error;
}
