import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/** A frame a server sent, parsed; the fields the ladders read typed, the rest as they came. */
export interface ServerFrame {
  readonly [field: string]: unknown;
  readonly type?: string;
  readonly ref?: string | null;
  readonly ok?: boolean;
  readonly clientMessageId?: string;
  readonly error?: { readonly code?: string };
  readonly conversations?: readonly { readonly status?: string }[];
}

/** One client to connect: its credential, device, and the conversation it follows, if any. */
export interface ClientSpec {
  /** Sent as `Authorization: Bearer`; the reference server takes none. */
  readonly token?: string;
  readonly deviceId: string;
  /** Followed from `revision` on (a `sync` naming it); none: an idle client, synced to nothing. */
  readonly conversationId?: string;
  readonly revision?: number;
}

/** Where a pool hands what the servers send once its clients are set up. */
export interface FrameSink {
  reply(client: number, frame: ServerFrame, at: number): void;
  event(client: number, frame: ServerFrame, at: number): void;
  /** Any other pushed frame (`call`, `callSignal`, `presence`, ...), for sinks that want them. */
  push?(client: number, frame: ServerFrame, at: number): void;
}

export interface ConnectOptions {
  /** Upgrades (each followed by its hello and sync) in flight at once. */
  readonly concurrency: number;
  readonly signal: AbortSignal;
}

/** Per request while setting up: a server that does not answer fails the run, not hangs it. */
const SETUP_TIMEOUT_MS = 30_000;

/**
 * The realtime bench's clients, all in this process: real `ws` clients speaking the realtime
 * protocol (docs/realtime-protocol.md) the way an SDK does. Each connects with its bearer token,
 * says `hello` with its device id and `sync`s the conversation it follows; after that every reply
 * and `event` frame goes to the pool's sink, stamped with the time it was read.
 *
 * A connection the server closes is counted (by close code), never reopened: the scenario reports
 * it instead of measuring around it.
 */
export class RealtimeClientPool {
  sink: FrameSink | undefined;
  /** When the last frame arrived that no setup request was waiting for (presence, events...). */
  private lastUnsolicitedAt = performance.now();
  private readonly closedByServer = new Map<number, number>();
  private closing = false;

  private constructor(
    private readonly wsUrl: string,
    private readonly clients: BenchClient[],
  ) {}

  /** An empty pool for `httpUrl`'s `/v1/realtime` (the reference server takes any path). */
  static for(httpUrl: string): RealtimeClientPool {
    return new RealtimeClientPool(`${httpUrl.replace(/^http/, 'ws')}/v1/realtime`, []);
  }

  get size(): number {
    return this.clients.length;
  }

  /** Connections the server closed, by close code. */
  get closedCodes(): ReadonlyMap<number, number> {
    return this.closedByServer;
  }

  /**
   * Connects the specs' clients (appending them to the pool, in order), each said hello and
   * synced before this resolves. Throws on the first that fails.
   */
  async connect(specs: readonly ClientSpec[], options: ConnectOptions): Promise<void> {
    const first = this.clients.length;
    const opened = new Array<BenchClient>(specs.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < specs.length; i = next++) {
        options.signal.throwIfAborted();
        opened[i] = await this.open(first + i, specs[i]!);
      }
    };
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(options.concurrency, specs.length) }, worker),
    );
    // Whatever did open belongs to the pool, so `close` reaches it even when another failed.
    this.clients.push(...opened.filter((c) => c !== undefined));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Sends `{ v: 1, op, ref, ...fields }` on client `index`'s connection and answers the reply to
   * it (whatever its `ok`), or rejects after the set-up time-out: for request/reply exchanges
   * such as a call's signalling, where the sink is not the one waiting.
   */
  request(index: number, op: string, fields: Record<string, unknown>): Promise<ServerFrame> {
    return this.clients[index]!.request(op, fields);
  }

  /** Writes a frame on client `index`'s connection. */
  send(index: number, frame: string): void {
    this.clients[index]!.socket.send(frame);
  }

  /**
   * Waits until no unsolicited frame has arrived for `quietMs` (the server done announcing the new
   * connections' presence, say), or `maxMs` has passed.
   */
  async quiet(quietMs: number, maxMs: number, signal: AbortSignal): Promise<void> {
    const until = performance.now() + maxMs;
    for (;;) {
      signal.throwIfAborted();
      const now = performance.now();
      if (now - this.lastUnsolicitedAt >= quietMs || now >= until) return;
      await sleep(Math.min(quietMs, 50));
    }
  }

  /** Drops every connection and waits for them to be gone. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.clients.map((c) => {
        c.socket.terminate();
        return c.closed;
      }),
    );
  }

  private async open(index: number, spec: ClientSpec): Promise<BenchClient> {
    const socket = new WebSocket(this.wsUrl, {
      perMessageDeflate: false,
      ...(spec.token === undefined ? {} : { headers: { authorization: `Bearer ${spec.token}` } }),
    });
    const client = new BenchClient(socket);
    socket.on('message', (data: Buffer) => {
      const at = performance.now();
      const frame = JSON.parse(data.toString('utf8')) as ServerFrame;
      if (frame.type === 'reply') {
        if (client.answer(frame)) return;
        this.sink?.reply(index, frame, at);
      } else {
        this.lastUnsolicitedAt = at;
        if (frame.type === 'event') this.sink?.event(index, frame, at);
        else this.sink?.push?.(index, frame, at);
      }
    });
    socket.once('close', (code: number) => {
      if (!this.closing) this.closedByServer.set(code, (this.closedByServer.get(code) ?? 0) + 1);
    });
    try {
      await opened(socket);
      const hello = await client.request('hello', { deviceId: spec.deviceId });
      if (!hello.ok) throw new Error(`hello refused: ${JSON.stringify(hello.error)}`);
      const sync = await client.request('sync', {
        conversations:
          spec.conversationId === undefined
            ? []
            : [{ conversationId: spec.conversationId, revision: spec.revision ?? -1 }],
        discover: false,
      });
      if (!sync.ok || sync.conversations?.some((c) => c.status !== 'ok')) {
        throw new Error(`sync refused: ${JSON.stringify(sync)}`);
      }
      return client;
    } catch (error) {
      socket.terminate();
      throw new Error(`client ${index} (${spec.deviceId}) could not connect`, { cause: error });
    }
  }
}

/** One connection, with the requests it is waiting on while it is set up. */
class BenchClient {
  readonly closed: Promise<void>;
  private readonly waiting = new Map<string, (frame: ServerFrame) => void>();
  private nextRef = 0;

  constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  /** Sends `{ v: 1, op, ref, ...fields }`; answers the reply echoing `ref`. */
  request(op: string, fields: Record<string, unknown>): Promise<ServerFrame> {
    const ref = `setup-${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new Error(`no reply to ${op} within ${SETUP_TIMEOUT_MS} ms`));
      }, SETUP_TIMEOUT_MS);
      this.waiting.set(ref, (frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
      this.socket.send(JSON.stringify({ v: 1, op, ref, ...fields }));
    });
  }

  /** Hands a reply to the request waiting for it; false when none is. */
  answer(frame: ServerFrame): boolean {
    if (this.waiting.size === 0 || typeof frame.ref !== 'string') return false;
    const resolve = this.waiting.get(frame.ref);
    if (!resolve) return false;
    this.waiting.delete(frame.ref);
    resolve(frame);
    return true;
  }
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      reject(new Error(`upgrade refused with HTTP ${response.statusCode}`));
    });
    socket.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
