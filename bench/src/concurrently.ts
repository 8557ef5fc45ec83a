/**
 * Runs `task` for every item, `concurrency` at a time. A failure stops the other workers before
 * their next item and is thrown once all have stopped, so nothing is still running when the
 * caller goes on to clean up.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  let next = 0;
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        signal.throwIfAborted();
        stop.signal.throwIfAborted();
        try {
          await task(items[i]!);
        } catch (error) {
          stop.abort(error);
          throw error;
        }
      }
    }),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw stop.signal.aborted ? stop.signal.reason : failed.reason;
}
