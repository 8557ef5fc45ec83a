import { EventEmitter } from 'node:events';

/** What a stand-in received and answered, in order; tests wait on it (a signal, never a sleep). */
export class RecordedPushes<T> {
  readonly items: T[] = [];
  private readonly added = new EventEmitter();

  add(item: T): void {
    this.items.push(item);
    this.added.emit('added');
  }

  /** Resolves once `predicate` holds for what was received; rejects after `timeoutMs`. */
  until(
    predicate: (items: readonly T[]) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<readonly T[]> {
    if (predicate(this.items)) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this.items)) return;
        cleanup();
        resolve(this.items);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`${what}: not received within ${timeoutMs} ms (got ${this.items.length})`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.added.off('added', check);
      };
      this.added.on('added', check);
    });
  }
}
