import { SubscriptionOverflowError, createSubscriptionIterator } from './subscription-iterator';

/** A push source a test drives by hand, counting how often it was stopped. */
function source<T>() {
  const state = { push: (_value: T) => {}, stops: 0 };
  const register = (push: (value: T) => void) => {
    state.push = push;
    return () => {
      state.stops += 1;
    };
  };
  return { state, register };
}

describe('createSubscriptionIterator', () => {
  it('delivers values in order, whether they arrive before or after the consumer asks', async () => {
    const { state, register } = source<number>();
    const events = createSubscriptionIterator(register);
    state.push(1);
    state.push(2);
    expect(await events.next()).toEqual({ value: 1, done: false });
    expect(await events.next()).toEqual({ value: 2, done: false });
    const waiting = events.next();
    state.push(3);
    expect(await waiting).toEqual({ value: 3, done: false });
  });

  it('stops the source once when the consumer returns, and ends pending reads', async () => {
    const { state, register } = source<string>();
    const events = createSubscriptionIterator(register);
    const pending = events.next();
    await events.return!();
    await events.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(await events.next()).toEqual({ value: undefined, done: true });
    state.push('late');
    expect(await events.next()).toEqual({ value: undefined, done: true });
    expect(state.stops).toBe(1);
  });

  it('on overflow stops the source, delivers what was buffered, then fails as retryable', async () => {
    const { state, register } = source<number>();
    let overflows = 0;
    const events = createSubscriptionIterator(register, {
      bufferSize: 2,
      onOverflow: () => (overflows += 1),
    });
    for (const value of [1, 2, 3, 4]) state.push(value);
    expect(state.stops).toBe(1);
    expect(overflows).toBe(1);
    expect(await events.next()).toEqual({ value: 1, done: false });
    expect(await events.next()).toEqual({ value: 2, done: false });
    const failure: unknown = await events.next().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SubscriptionOverflowError);
    expect(failure).toMatchObject({ code: 'subscription_overflow', retryable: true, limit: 2 });
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });

  it('handles a source that pushes, and overflows, before register returns', async () => {
    let stops = 0;
    const events = createSubscriptionIterator<number>(
      (push) => {
        push(1);
        push(2);
        return () => (stops += 1);
      },
      { bufferSize: 1 },
    );
    expect(stops).toBe(1);
    expect(await events.next()).toEqual({ value: 1, done: false });
    await expect(events.next()).rejects.toBeInstanceOf(SubscriptionOverflowError);
  });

  it('keeps undefined values and works with for await', async () => {
    const { state, register } = source<string | undefined>();
    const events = createSubscriptionIterator(register);
    state.push(undefined);
    state.push('b');
    const seen: (string | undefined)[] = [];
    for await (const value of events) {
      seen.push(value);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([undefined, 'b']);
    expect(state.stops).toBe(1);
  });

  it('refuses a buffer size that is not a positive integer', () => {
    expect(() => createSubscriptionIterator(() => () => {}, { bufferSize: 0 })).toThrow(RangeError);
  });
});
