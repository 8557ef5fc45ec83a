import { DataKeyShreddedError } from '@ledgerline/crypto';
import { AccessDeniedError, AuthenticationError } from '@ledgerline/identity';
import { LedgerlineError, TooLargeError, ValidationError } from '@ledgerline/kernel';
import {
  FileQuarantinedError,
  FileShreddedError,
  RangeNotSatisfiableError,
} from '../application/file-downloads.handler';
import { UploadOffsetError } from '../application/file-uploads.handler';
import { FileNotFoundError, FileRefused } from '../domain/file.errors';
import { FileBodyCorruptError } from '../files.errors';

export interface HttpFailure {
  readonly status: number;
  readonly body: { readonly code: string; readonly message: string; readonly retryable?: true };
}

/**
 * The HTTP answer to an error of the files API: a status and `{ code, message }`. Ledgerline
 * errors carry ids and codes only; anything else is a 500 that says nothing about its cause.
 */
export function httpFailureOf(error: unknown): HttpFailure {
  if (!(error instanceof LedgerlineError)) {
    return { status: 500, body: { code: 'internal', message: 'the request failed' } };
  }
  const body = {
    code: error.code,
    message: error.message,
    ...(error.retryable ? { retryable: true as const } : {}),
  };
  return { status: statusOf(error), body };
}

function statusOf(error: LedgerlineError): number {
  if (error instanceof AuthenticationError) return error.retryable ? 503 : 401;
  if (error instanceof AccessDeniedError) return 403;
  if (error instanceof TooLargeError) return 413;
  if (error instanceof UploadOffsetError) return 409;
  if (error instanceof RangeNotSatisfiableError) return 416;
  if (error instanceof FileNotFoundError) return 404;
  if (error instanceof FileShreddedError || error instanceof DataKeyShreddedError) return 410;
  if (error instanceof FileQuarantinedError) return 403;
  if (error instanceof FileRefused) return 403;
  if (error instanceof FileBodyCorruptError) return 500;
  if (error instanceof ValidationError) return 400;
  if (error.retryable) return 503;
  return 409;
}
