export interface RetrySchedule {
  /** Delay before the second attempt. */
  readonly baseMs: number;
  /** No delay grows past this. */
  readonly maxMs: number;
  /** Attempts in all; after the last failure the push is given up. */
  readonly maxAttempts: number;
}

/**
 * Exponential back-off with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * after the n-th failed attempt, a delay drawn uniformly from [0, min(max, base·2^(n-1))], at
 * least what the provider asked for. `random` in [0, 1) is passed in (pure).
 */
export function retryDelayMs(
  schedule: RetrySchedule,
  failedAttempts: number,
  random: number,
  providerAskedMs = 0,
): number {
  const ceiling = Math.min(schedule.maxMs, schedule.baseMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.max(Math.min(providerAskedMs, schedule.maxMs), Math.floor(ceiling * random));
}

/** Whether the attempt that just failed was the last one allowed. */
export function givesUp(schedule: RetrySchedule, failedAttempts: number): boolean {
  return failedAttempts >= schedule.maxAttempts;
}
