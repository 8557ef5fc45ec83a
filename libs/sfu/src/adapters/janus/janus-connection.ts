import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

/** One message of Janus's JSON API (https://janus.conf.meetecho.com/docs/rest.html). */
export interface JanusMessage {
  readonly janus: string;
  readonly transaction?: string;
  readonly session_id?: number;
  readonly sender?: number;
  readonly data?: { readonly id?: number };
  readonly error?: { readonly code: number; readonly reason: string };
  readonly plugindata?: { readonly plugin: string; readonly data: Record<string, unknown> };
  readonly jsep?: { readonly type: string; readonly sdp: string };
  readonly [key: string]: unknown;
}

/** Janus (or one of its plugins) refused a request: `code` is Janus's error code. */
export class JanusError extends Error {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(`janus error ${code}: ${reason.slice(0, 200)}`);
  }
}

/** The connection is gone (or never came up). */
export class JanusConnectionError extends Error {}

/** Largest message accepted from Janus (an SDP offer for a handful of streams is a few KiB). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * A minimal client of Janus's WebSocket API (`janus-protocol`, or `janus-admin-protocol` for the
 * Admin API): transactions matched to their replies (an `ack` is skipped, the `success`, `event`
 * or `error` that follows settles the request), every other message handed to `onEvent`, and a
 * `closed` callback when the socket goes. Written on `ws` instead of janode 1.8.0, which is
 * ES-module-only and imports a native addon (unix-dgram) at load time (docs/adr/0025).
 */
export class JanusConnection {
  private readonly pending = new Map<
    string,
    {
      resolve: (m: JanusMessage) => void;
      reject: (e: Error) => void;
      timer: NodeJS.Timeout;
      ackIsFinal: boolean;
    }
  >();
  private open = true;
  onEvent: (message: JanusMessage) => void = () => undefined;
  onClose: () => void = () => undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (raw: WebSocket.RawData) => this.receive(raw));
    ws.on('close', () => this.closed());
    ws.on('error', () => this.closed());
  }

  static connect(
    url: string,
    options: { admin?: boolean; timeoutMs?: number } = {},
  ): Promise<JanusConnection> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options.admin ? 'janus-admin-protocol' : 'janus-protocol', {
        maxPayload: MAX_MESSAGE_BYTES,
        handshakeTimeout: timeoutMs,
      });
      const fail = (error: Error) => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(new JanusConnectionError(`cannot reach Janus: ${error.message}`));
      };
      ws.once('error', fail);
      ws.once('open', () => {
        ws.off('error', fail);
        resolve(new JanusConnection(ws, timeoutMs));
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Sends a request and resolves with its final reply; Janus's `error` rejects with JanusError.
   * `ackIsFinal`: requests Janus answers with an `ack` only (keepalive, trickle).
   */
  request(
    body: Record<string, unknown>,
    options: { ackIsFinal?: boolean } = {},
  ): Promise<JanusMessage> {
    if (!this.open) return Promise.reject(new JanusConnectionError('Janus connection is closed'));
    const transaction = randomBytes(12).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new JanusConnectionError(`Janus did not answer "${String(body['janus'])}"`));
      }, this.timeoutMs);
      this.pending.set(transaction, {
        resolve,
        reject,
        timer,
        ackIsFinal: options.ackIsFinal ?? false,
      });
      this.ws.send(JSON.stringify({ ...body, transaction }), (error) => {
        if (!error) return;
        clearTimeout(timer);
        this.pending.delete(transaction);
        reject(new JanusConnectionError(`cannot send to Janus: ${error.message}`));
      });
    });
  }

  close(): void {
    this.ws.close();
    this.closed();
  }

  private receive(raw: WebSocket.RawData): void {
    let message: JanusMessage;
    try {
      message = JSON.parse(rawText(raw)) as JanusMessage;
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const waiting = message.transaction ? this.pending.get(message.transaction) : undefined;
    if (!waiting) {
      this.onEvent(message);
      return;
    }
    if (message.janus === 'ack' && !waiting.ackIsFinal) return;
    clearTimeout(waiting.timer);
    this.pending.delete(message.transaction!);
    if (message.janus === 'error') {
      waiting.reject(new JanusError(message.error?.code ?? 0, message.error?.reason ?? 'error'));
      return;
    }
    const plugin = message.plugindata?.data;
    if (plugin && typeof plugin['error_code'] === 'number') {
      const reason = typeof plugin['error'] === 'string' ? plugin['error'] : 'error';
      waiting.reject(new JanusError(plugin['error_code'], reason));
      return;
    }
    waiting.resolve(message);
  }

  private closed(): void {
    if (!this.open) return;
    this.open = false;
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new JanusConnectionError('Janus connection closed'));
    }
    this.pending.clear();
    this.ws.removeAllListeners('message');
    this.onClose();
  }
}

/** A WebSocket message's text, whichever shape `ws` delivered it in. */
export function rawText(raw: WebSocket.RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}
