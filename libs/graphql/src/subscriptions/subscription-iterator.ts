import { UnavailableError } from '@ledgerline/kernel';

/** The subscriber fell too far behind and was dropped; it resubscribes from its last position. */
export class SubscriptionOverflowError extends UnavailableError {
  override readonly code = 'subscription_overflow';
  constructor(readonly limit: number) {
    super(
      `the subscriber fell more than ${limit} events behind; resubscribe from the last position received`,
    );
  }
}

export interface SubscriptionIteratorOptions {
  /** Values kept for a slow consumer before the subscription is ended. Default 256. */
  readonly bufferSize?: number;
  /** Called once when the buffer overflows (metrics, logs). */
  readonly onOverflow?: () => void;
}

export const DEFAULT_SUBSCRIPTION_BUFFER_SIZE = 256;

/**
 * Turns a push source (an event-store subscription, a fan-out registry) into the async iterator a
 * GraphQL subscription resolver returns.
 *
 * `register` is called once, at once, with `push`; it returns the function that stops the source.
 * The source is stopped exactly once: when the client completes or disconnects (`return()`), or
 * when more than `bufferSize` values wait for a slow consumer. After an overflow the consumer
 * still receives every value that was buffered, in order, and then the iterator fails with
 * SubscriptionOverflowError (UNAVAILABLE, retryable): memory stays bounded and the client learns
 * it must resume, rather than silently missing events.
 */
export function createSubscriptionIterator<T>(
  register: (push: (value: T) => void) => () => void,
  options: SubscriptionIteratorOptions = {},
): AsyncIterableIterator<T> {
  const limit = options.bufferSize ?? DEFAULT_SUBSCRIPTION_BUFFER_SIZE;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError('bufferSize must be a positive integer');
  }
  const buffered: T[] = [];
  const waiting: ((result: IteratorResult<T>) => void)[] = [];
  let state: 'open' | 'overflowed' | 'ended' = 'open';
  let stopSource: (() => void) | undefined;
  let stopRequested = false;

  const stop = () => {
    stopRequested = true;
    const stopNow = stopSource;
    stopSource = undefined;
    stopNow?.();
  };

  const push = (value: T) => {
    if (state !== 'open') return;
    const consumer = waiting.shift();
    if (consumer) return consumer({ value, done: false });
    if (buffered.length >= limit) {
      state = 'overflowed';
      stop();
      options.onOverflow?.();
      return;
    }
    buffered.push(value);
  };

  const done = (): IteratorResult<T> => ({ value: undefined, done: true });

  const iterator: AsyncIterableIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (buffered.length > 0) {
        return Promise.resolve({ value: buffered.shift() as T, done: false });
      }
      if (state === 'overflowed') {
        state = 'ended';
        return Promise.reject(new SubscriptionOverflowError(limit));
      }
      if (state === 'ended') return Promise.resolve(done());
      return new Promise((resolve) => waiting.push(resolve));
    },
    return(): Promise<IteratorResult<T>> {
      state = 'ended';
      buffered.length = 0;
      stop();
      for (const consumer of waiting.splice(0)) consumer(done());
      return Promise.resolve(done());
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };

  // The source may push (a catch-up) or even overflow before `register` returns its stopper.
  const stopper = register(push);
  if (stopRequested) stopper();
  else stopSource = stopper;
  return iterator;
}
