/**
 * Preloaded (`node --expose-gc --require memory-probe.js <server>`) into a server process the
 * realtime bench starts, so the bench can read that process's memory without the server knowing:
 * on the IPC message `{ type: 'memory' }` it runs full garbage collections and answers
 * `{ type: 'memory', rss, heapUsed, external, arrayBuffers }` (bytes).
 *
 * The channel is unreferenced, so it never keeps a server alive that would otherwise exit.
 */

/** The probe's question and answer on the IPC channel. */
export interface MemoryReading {
  readonly type: 'memory';
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export const MEMORY_REQUEST = { type: 'memory' } as const;

/**
 * V8 hands the pages a collection freed back to the system from background threads, a little
 * after the collection: RSS read at once would still count them.
 */
const UNMAP_WAIT_MS = 500;

function answer(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  // Twice: the first pass can leave garbage only a second one finds (weak callbacks, finalisers).
  collect?.();
  collect?.();
  setTimeout(() => {
    collect?.();
    read();
  }, UNMAP_WAIT_MS).unref();
}

function read(): void {
  const usage = process.memoryUsage();
  const reading: MemoryReading = {
    type: 'memory',
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
  };
  process.send?.(reading);
}

if (process.send) {
  process.on('message', (message: unknown) => {
    if ((message as { type?: unknown } | null)?.type === MEMORY_REQUEST.type) answer();
  });
  process.channel?.unref();
}
