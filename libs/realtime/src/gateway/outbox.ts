import { WebSocket } from 'ws';

/**
 * A connection's bounded send buffer. It counts the bytes handed to the socket and not yet
 * written to the network (ws and the socket buffer them when the client does not read), plus
 * bytes the connection holds back to send later (live events waiting behind a catch-up). Their
 * sum never exceeds `capBytes`: a frame that would go over it is not sent, and the connection is
 * reported a slow consumer (`onOverflow`), once. Memory per connection therefore stays bounded,
 * however slowly, or never, the client reads.
 */
export class Outbox {
  private pending = 0;
  private held = 0;
  private peak = 0;
  private overflowed = false;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly socket: WebSocket,
    private readonly capBytes: number,
    private readonly onOverflow: () => void,
  ) {}

  /** Bytes waiting now (unsent plus held). */
  get bytes(): number {
    return this.pending + this.held;
  }

  /** The most bytes ever waiting at once: never above the cap. */
  get peakBytes(): number {
    return this.peak;
  }

  get isOverflowed(): boolean {
    return this.overflowed;
  }

  /** Sends a text frame; false (and nothing sent) when the connection is closed or would overflow. */
  send(frame: string): boolean {
    if (this.closed || this.overflowed || this.socket.readyState !== WebSocket.OPEN) return false;
    const data = Buffer.from(frame, 'utf8');
    if (!this.admit(data.length)) return false;
    this.pending += data.length;
    this.note();
    this.socket.send(data, { binary: false }, () => {
      // Written to the network, or failed because the socket is going away: either way not waiting.
      this.pending -= data.length;
      this.wake();
    });
    return true;
  }

  /** Counts `bytes` held back; false (nothing counted) when that would overflow. */
  hold(bytes: number): boolean {
    if (this.closed || this.overflowed) return false;
    if (!this.admit(bytes)) return false;
    this.held += bytes;
    this.note();
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
    this.wake();
  }

  /**
   * Resolves when at most half the cap is waiting to be written to the socket (bytes held back do
   * not count: they wait for what is being sent now), or the outbox is closed.
   */
  room(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** Sends nothing more; wakes whoever waits for room. */
  close(): void {
    this.closed = true;
    this.held = 0;
    this.wake();
  }

  private admit(bytes: number): boolean {
    if (this.pending + this.held + bytes <= this.capBytes) return true;
    this.overflowed = true;
    this.held = 0;
    this.onOverflow();
    this.wake();
    return false;
  }

  private note(): void {
    const now = this.pending + this.held;
    if (now > this.peak) this.peak = now;
  }

  private hasRoom(): boolean {
    return this.closed || this.overflowed || this.pending <= this.capBytes / 2;
  }

  private wake(): void {
    if (!this.hasRoom()) return;
    for (const resolve of this.waiters) resolve();
    this.waiters.clear();
  }
}
