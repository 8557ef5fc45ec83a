import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/** A frame the server sent, parsed. */
export interface ServerFrame {
  readonly v: number;
  readonly type: string;
  readonly ref?: string | null;
  readonly ok?: boolean;
  readonly error?: {
    code: string;
    message: string;
    retryable: boolean;
    reason?: string;
    fields?: { field: string; constraints: string[] }[];
    retryAfterMs?: number;
  };
  readonly [key: string]: unknown;
}

/** An `event` frame. */
export interface EventFrame extends ServerFrame {
  readonly type: 'event';
  readonly conversationId: string;
  readonly eventId: string;
  readonly position: string;
  readonly revision: number;
  readonly kind: string;
  readonly messageId?: string;
  readonly clientMessageId?: string;
  readonly text?: string;
  readonly catchUp?: boolean;
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export interface ConnectOptions {
  readonly token?: string;
  /** Send the token as the `bearer.<token>` subprotocol (as browsers do) instead of a header. */
  readonly asSubprotocol?: boolean;
  readonly protocols?: readonly string[];
  readonly origin?: string;
  readonly path?: string;
}

/** The HTTP status of a refused upgrade (the WebSocket never opened). */
export async function refusedUpgrade(
  baseUrl: string,
  options: ConnectOptions = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const socket = open(baseUrl, options);
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
      response.resume();
      socket.terminate();
    });
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('error', (error) => reject(error));
  });
}

function open(baseUrl: string, options: ConnectOptions): WebSocket {
  const url = `${baseUrl.replace(/^http/, 'ws')}${options.path ?? '/v1/realtime'}`;
  const headers: Record<string, string> = {};
  const protocols = [...(options.protocols ?? [])];
  if (options.token !== undefined) {
    if (options.asSubprotocol) protocols.push('ledgerline.v1', `bearer.${options.token}`);
    else headers['authorization'] = `Bearer ${options.token}`;
  }
  if (options.origin !== undefined) headers['origin'] = options.origin;
  return new WebSocket(url, protocols, { headers });
}

/**
 * A realtime protocol client as an SDK would be: requests with a fresh `ref`, replies matched by
 * it, every server frame kept in arrival order.
 */
export class RealtimeTestClient {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<Closed>;
  private closedWith: Closed | undefined;
  /** Woken on every frame and on close: waits are on what arrives, never on polling. */
  private readonly watchers = new Set<() => void>();

  private constructor(
    readonly name: string,
    readonly socket: WebSocket,
  ) {
    socket.on('message', (data: Buffer) => {
      this.frames.push(JSON.parse(data.toString('utf8')) as ServerFrame);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
        this.wake();
      });
    });
    socket.on('error', () => undefined);
  }

  static async connect(
    name: string,
    baseUrl: string,
    options: ConnectOptions,
  ): Promise<RealtimeTestClient> {
    const socket = open(baseUrl, options);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`${name}: upgrade refused with ${res.statusCode}`)),
      );
      socket.once('error', reject);
    });
    return new RealtimeTestClient(name, socket);
  }

  /** Connects and says hello; answers the hello reply. */
  static async hello(
    name: string,
    baseUrl: string,
    options: ConnectOptions & { deviceId?: string },
  ): Promise<RealtimeTestClient> {
    const client = await RealtimeTestClient.connect(name, baseUrl, options);
    const reply = await client.request(
      'hello',
      options.deviceId ? { deviceId: options.deviceId } : {},
    );
    if (!reply.ok) throw new Error(`${name}: hello refused ${JSON.stringify(reply.error)}`);
    return client;
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  /**
   * Sends `{ v: 1, op, ref, ...fields }` and answers the reply with that ref. The timeout is a
   * backstop against a reply that never comes, not a performance budget: keep it generous.
   */
  async request(
    op: string,
    fields: Record<string, unknown> = {},
    timeoutMs = 60_000,
  ): Promise<ServerFrame> {
    const ref = `${op}-${randomUUID()}`;
    const from = this.frames.length;
    this.socket.send(JSON.stringify({ v: 1, op, ref, ...fields }));
    return this.waitFor((f) => f.type === 'reply' && f.ref === ref, timeoutMs, from);
  }

  /** The first frame (from index `from`) that matches, waiting for it. */
  async waitFor(
    predicate: (frame: ServerFrame) => boolean,
    timeoutMs = 60_000,
    from = 0,
  ): Promise<ServerFrame> {
    let next = from;
    return this.until(
      () => {
        for (; next < this.frames.length; next++) {
          if (predicate(this.frames[next]!)) return this.frames[next];
        }
        return undefined;
      },
      timeoutMs,
      (why) =>
        why === 'closed'
          ? `${this.name}: closed ${JSON.stringify(this.closedWith)} while waiting`
          : `${this.name}: no matching frame; got ${JSON.stringify(this.frames.slice(-5))}`,
    );
  }

  /** Waits until `count` event frames of the conversation have arrived; answers them all. */
  async eventsOf(conversationId: string, count: number, timeoutMs = 60_000): Promise<EventFrame[]> {
    return this.until(
      () => {
        const events = this.events(conversationId);
        return events.length >= count ? events : undefined;
      },
      timeoutMs,
      (why) => {
        const got = this.events(conversationId).length;
        return why === 'closed'
          ? `${this.name}: closed ${JSON.stringify(this.closedWith)} with ${got}/${count} events`
          : `${this.name}: ${got}/${count} events of ${conversationId}`;
      },
    );
  }

  /**
   * Resolves with what `check` finds, checking again on every frame that arrives; rejects when the
   * connection closes first or after `timeoutMs`.
   */
  private until<T>(
    check: () => T | undefined,
    timeoutMs: number,
    failure: (why: 'closed' | 'timeout') => string,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const watcher = () => {
        const found = check();
        if (found !== undefined) return settle(() => resolve(found));
        if (this.isClosed) settle(() => reject(new Error(failure('closed'))));
      };
      const timer = setTimeout(
        () => settle(() => reject(new Error(failure('timeout')))),
        timeoutMs,
      );
      const settle = (done: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
        done();
      };
      this.watchers.add(watcher);
      watcher();
    });
  }

  private wake(): void {
    for (const watcher of [...this.watchers]) watcher();
  }

  events(conversationId?: string): EventFrame[] {
    return this.frames.filter(
      (f): f is EventFrame =>
        f.type === 'event' &&
        (conversationId === undefined || f['conversationId'] === conversationId),
    );
  }

  close(): Promise<Closed> {
    if (!this.isClosed) this.socket.close(1000, 'bye');
    return this.closed;
  }

  terminate(): Promise<Closed> {
    this.socket.terminate();
    return this.closed;
  }
}
