import { RateLimitedError, UnavailableError, ValidationError } from '@ledgerline/kernel';

/** Group calls need an SFU, and none is configured or it is down: retryable; nothing changed. */
export class CallSfuUnavailableError extends UnavailableError {
  override readonly code = 'sfu_unavailable';
  readonly reason = 'sfu_unavailable';
  constructor(detail: 'not_configured' | 'engine_down') {
    super(
      `group calls are unavailable: ${detail === 'not_configured' ? 'no SFU is configured' : 'the SFU is down'}`,
    );
  }
}

/** The SFU refused a signalling request (unknown method, malformed data, listen-only). */
export class CallSfuRequestError extends ValidationError {
  override readonly code = 'sfu_bad_request';
  constructor() {
    super('the SFU refused the request', 'data');
  }
}

/** Too many ICE candidates from one device in one call. */
export class CallSignalRateLimitedError extends RateLimitedError {
  override readonly code = 'call_signal_rate_limited';
  constructor(retryAfterMs: number) {
    super('too many ICE candidates: slow down', retryAfterMs);
  }
}

/** A signal that is not acceptable as sent (names the field, never its value). */
export class InvalidCallSignalError extends ValidationError {
  override readonly code = 'invalid_call_signal';
  constructor(
    field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`, field);
  }
}
