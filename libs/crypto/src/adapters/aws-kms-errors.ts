import type { LedgerlineError } from '@ledgerline/kernel';
import {
  KekNotFoundError,
  KeyProviderError,
  KeyProviderUnavailableError,
  KeyUnwrapError,
} from '../crypto.errors';

/** What to do about an error the KMS client raised. */
export type KmsFailure = 'retry' | 'kek_missing' | 'unwrap' | 'refused';

// KMS's own names (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html and each
// operation's Errors section), plus the generic AWS ones a KMS endpoint can answer with.
const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
const TRANSIENT = new Set([
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const KEK_MISSING = new Set(['NotFoundException', 'DisabledException', 'KMSInvalidStateException']);
const UNWRAP = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
}

/** The error's AWS type name or Node.js error code, for messages and classification. */
export function kmsErrorName(error: unknown): string {
  const e = (error ?? {}) as SdkErrorShape;
  const code = networkCode(e);
  if (code) return code;
  return typeof e.name === 'string' && e.name !== 'Error' ? e.name : 'UnknownError';
}

// The SDK re-wraps what is not `instanceof Error` (Node's own errors seen from another realm, as
// under Jest) as "AWS SDK error wrapper for Error: connect ECONNREFUSED …", dropping `code`.
const NETWORK_MESSAGE = new RegExp(`\\b(${[...NETWORK_CODES].join('|')})\\b|socket hang up`);

function networkCode(e: SdkErrorShape, depth = 0): string | undefined {
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  const message = (e as { message?: unknown }).message;
  const match = typeof message === 'string' ? NETWORK_MESSAGE.exec(message) : null;
  if (match) return match[1] ?? 'ECONNRESET';
  if (e.cause && typeof e.cause === 'object' && depth < 5) {
    return networkCode(e.cause, depth + 1);
  }
  return undefined;
}

export function classifyKmsError(error: unknown): KmsFailure {
  const e = (error ?? {}) as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  if (THROTTLED.has(name) || TRANSIENT.has(name) || networkCode(e)) return 'retry';
  if (KEK_MISSING.has(name)) return 'kek_missing';
  if (UNWRAP.has(name)) return 'unwrap';
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return 'retry';
  return 'refused';
}

/**
 * The Ledgerline error for a KMS failure. The message names the operation, ids and the AWS error
 * type only; AWS's own message and the SDK error are not kept (the cause is a summary), since
 * errors travel to logs and the SDK error carries the raw response.
 */
export function toKeyProviderError(
  error: unknown,
  failure: KmsFailure,
  what: string,
  attempts: number,
): LedgerlineError {
  const name = kmsErrorName(error);
  const status = (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  const cause = new Error(`${name}${status ? ` (HTTP ${status})` : ''}`);
  switch (failure) {
    case 'retry':
      return new KeyProviderUnavailableError(
        `KMS ${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${name}`,
        { cause },
      );
    case 'kek_missing':
      return new KekNotFoundError(
        `KMS ${what}: ${name} (the key does not exist, is disabled or is pending deletion)`,
        {
          cause,
        },
      );
    case 'unwrap':
      return new KeyUnwrapError(
        `KMS ${what}: ${name} (the wrapped key was altered, or belongs to another tenant, stream or key)`,
        { cause },
      );
    case 'refused':
      return new KeyProviderError(`KMS ${what} was refused: ${name}`, { cause });
  }
}
