import type { Principal } from '@ledgerline/identity';
import { type Clock } from '@ledgerline/kernel';
import type { Metrics } from '@ledgerline/metrics';
import { rawText, runAt, startHeartbeat, WS_CLOSE } from '@ledgerline/websocket';
import { WebSocket, type RawData } from 'ws';
import { ConnectionFeed } from '../feed/connection-feed';
import type { FeedItem, RealtimeFeed } from '../feed/realtime-feed.port';
import type { RealtimePresence, RealtimeTyping } from '../presence/realtime-presence.port';
import { validateInput } from '../protocol/input-validation';
import { internalErrorReport } from '../protocol/internal-errors';
import {
  describeError,
  RealtimeRequestError,
  type RealtimeErrorBody,
} from '../protocol/realtime-errors';
import {
  errorReply,
  okReply,
  parseRequest,
  PROTOCOL_VERSION,
  pushFrame,
  type ReplyFields,
} from '../protocol/realtime-frames';
import {
  realtimeOperation,
  type RealtimeChannel,
  type RealtimeContext,
  type RealtimeOperation,
} from '../protocol/realtime-operation.port';
import {
  ConversationInput,
  HelloInput,
  PingInput,
  StatusInput,
  SyncInput,
} from '../protocol/session.dto';
import type { RealtimeSettings } from '../realtime.config';
import { Outbox } from './outbox';
import type { RequestLimits } from './request-limits';

/** Where a connection reports: ids, codes and counts only, never a frame's content. */
export interface RealtimeLog {
  debug(fields: Record<string, unknown>): void;
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

export interface RealtimeConnectionDependencies {
  readonly settings: RealtimeSettings;
  readonly clock: Clock;
  readonly limits: RequestLimits;
  /** Domain operations by `op`. */
  readonly operations: ReadonlyMap<string, RealtimeOperation>;
  readonly feed?: RealtimeFeed;
  readonly presence?: RealtimePresence;
  readonly typing?: RealtimeTyping;
  /** Domain libs' pushes (calls), attached after hello, detached on close. */
  readonly channels?: readonly RealtimeChannel[];
  readonly log: RealtimeLog;
  /** Deliveries, append-to-deliver and send-to-ack, when the app has metrics. */
  readonly metrics?: Metrics;
}

/** Why a connection ended, as the gateway counts it. */
export type CloseCause =
  | 'client'
  | 'going_away'
  | 'token_expired'
  | 'credential_revoked'
  | 'idle'
  | 'slow_consumer'
  | 'flood'
  | 'heartbeat'
  | 'message_too_big'
  | 'internal';

/** Frames waiting to be read before the socket stops reading from the client. */
const INTAKE_PAUSE_AT = 32;
const INTAKE_RESUME_AT = 8;
/** Conversation views one connection may have joined. */
const MAX_JOINED = 256;

/**
 * One client connection of the realtime protocol, authenticated before it was accepted.
 *
 * Frames are taken in arrival order: rate limits first (every frame counts), then the envelope,
 * `hello` before anything else, the operation's schema. Handlers then run concurrently (each reply
 * echoes its `ref`), at most `maxInFlight` at once. A bad frame is answered with a typed error and
 * the connection stays open; what closes it is named by its close code: token expiry (4401), a
 * revoked API key (4403, from the gateway), idle
 * (4408), slow consumer (4429), flood (1008), oversized frame (1009, by ws), shutdown (1001).
 */
export class RealtimeConnection {
  private principal: Principal;
  private deviceId: string | undefined;
  private helloDone = false;
  private readonly outbox: Outbox;
  private connectionFeed: ConnectionFeed | undefined;
  private readonly joined = new Set<string>();
  private readonly sessionOperations: ReadonlyMap<string, RealtimeOperation>;
  private intake: Promise<void> = Promise.resolve();
  private queued = 0;
  private paused = false;
  private inFlight = 0;
  private lastActivity: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private cutOff: NodeJS.Timeout | undefined;
  private readonly cleanups: (() => void)[] = [];
  private presenceOpened: Promise<void> = Promise.resolve();
  private stopTyping: (() => void) | undefined;
  private closingCause: CloseCause | undefined;
  readonly closed: Promise<CloseCause>;

  constructor(
    readonly id: string,
    private readonly socket: WebSocket,
    principal: Principal,
    private readonly deps: RealtimeConnectionDependencies,
  ) {
    this.principal = principal;
    this.lastActivity = deps.clock.now().getTime();
    this.outbox = new Outbox(socket, deps.settings.sendBufferBytes, () =>
      this.close('slow_consumer', WS_CLOSE.slowConsumer, 'Slow consumer'),
    );
    this.sessionOperations = new Map(this.sessionOperationList().map((o) => [o.op, o]));
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number) => {
        const cause = this.closingCause ?? 'client';
        this.cleanUp(cause, code);
        resolve(cause);
      });
    });
  }

  /** The most bytes that ever waited to go out on this connection (never above the cap). */
  get peakBufferedBytes(): number {
    return this.outbox.peakBytes;
  }

  get bufferedBytes(): number {
    return this.outbox.bytes;
  }

  /** Starts reading frames, the heartbeat, the expiry and idle timers, and presence. */
  start(): void {
    const { socket, deps } = this;
    socket.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself (1009 for an oversized frame, 1002…); the error names ws's code
      // only, never the payload.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
        this.closingCause ??= 'message_too_big';
      deps.log.debug({ msg: 'realtime socket error', connectionId: this.id, code: error.code });
    });
    socket.on('message', (data: RawData, isBinary: boolean) => this.enqueue(data, isBinary));
    this.cleanups.push(
      startHeartbeat(socket, deps.settings.heartbeatMs, () => {
        this.closingCause ??= 'heartbeat';
      }),
    );
    const expiresAt = this.principal.tokenExpiresAt;
    if (expiresAt !== undefined) {
      this.cleanups.push(
        runAt(deps.clock, expiresAt, () =>
          this.close('token_expired', WS_CLOSE.unauthorized, 'Token expired'),
        ),
      );
    }
    this.armIdle(deps.settings.idleTimeoutMs);
    if (deps.presence && this.principal.kind !== 'service') {
      this.presenceOpened = deps.presence
        .connectionOpened(this.principal, this.id)
        .catch((error: unknown) => this.logFailure('presence connectionOpened failed', error));
    }
  }

  /** Closes with a code and reason; cut off if the client does not complete the close in time. */
  close(cause: CloseCause, code: number, reason: string): void {
    if (this.closingCause !== undefined) return;
    this.closingCause = cause;
    this.outbox.close();
    this.connectionFeed?.close();
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(code, reason);
    // A slow consumer's close frame waits behind everything it has not read yet: cutting it off
    // after the usual grace would throw the close away with the rest, and the client would see
    // 1006 instead of 4429. It gets longer to read up to the close.
    const grace =
      cause === 'slow_consumer'
        ? this.deps.settings.slowConsumerGraceMs
        : this.deps.settings.drainGraceMs;
    this.cutOff = setTimeout(() => this.socket.terminate(), grace);
    this.cutOff.unref();
  }

  /** Why the connection is being closed, once that was decided (before it has closed). */
  get closing(): CloseCause | undefined {
    return this.closingCause;
  }

  // ---- intake ----------------------------------------------------------------------------------

  private enqueue(data: RawData, isBinary: boolean): void {
    const receivedAt = performance.now();
    this.queued += 1;
    if (this.queued >= INTAKE_PAUSE_AT && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.intake = this.intake
      .then(() => this.take(data, isBinary, receivedAt))
      .catch((error: unknown) => this.failInternally(error))
      .finally(() => {
        this.queued -= 1;
        if (this.paused && this.queued <= INTAKE_RESUME_AT) {
          this.paused = false;
          this.socket.resume();
        }
      });
  }

  private async take(data: RawData, isBinary: boolean, receivedAt: number): Promise<void> {
    if (this.closingCause !== undefined) return;
    const admission = await this.deps.limits.admit(this.id, this.principal);
    if (this.closingCause !== undefined) return;
    const text = isBinary ? undefined : rawText(data);
    if (!admission.allowed) {
      this.refuse(refOf(text), {
        code: 'rate_limited',
        message: 'too many requests: slow down',
        retryable: true,
        retryAfterMs: admission.retryAfterMs,
      });
      if (admission.abusive) {
        this.close('flood', WS_CLOSE.policyViolation, 'Rate limit exceeded');
      }
      return;
    }
    if (text === undefined) {
      return this.refuse(null, {
        code: 'invalid_frame',
        message: 'frames are JSON text, not binary',
        retryable: false,
      });
    }
    const parsed = parseRequest(text);
    if (!parsed.ok) return this.refuse(parsed.ref, this.errorBody(parsed.error, '(frame)'));
    const { ref, op, body } = parsed.request;
    if (op !== 'ping') this.touch();
    const operation = this.sessionOperations.get(op) ?? this.deps.operations.get(op);
    if (!operation) {
      return this.refuse(ref, {
        code: 'unknown_op',
        message: 'this server has no such operation',
        retryable: false,
      });
    }
    if (!this.helloDone && op !== 'hello') {
      return this.refuse(ref, {
        code: 'hello_required',
        message: 'send hello first',
        retryable: false,
      });
    }
    let input: object;
    try {
      input = validateInput(operation.input, body);
    } catch (error) {
      // Never an empty refusal: what validation cannot describe is answered `internal` and logged.
      return this.refuse(ref, this.errorBody(error, op));
    }
    if (op === 'hello') return this.hello(ref, input);
    if (this.inFlight >= this.deps.settings.maxInFlight) {
      return this.refuse(ref, {
        code: 'busy',
        message: 'too many requests in flight on this connection',
        retryable: true,
      });
    }
    this.inFlight += 1;
    void this.run(ref, operation, input, receivedAt).finally(() => {
      this.inFlight -= 1;
    });
  }

  /** Runs an operation and sends its reply; a `send`'s time from its frame's arrival is observed. */
  private async run(
    ref: string,
    operation: RealtimeOperation,
    input: object,
    receivedAt: number,
  ): Promise<void> {
    let reply: string;
    let ok = true;
    try {
      const fields = await operation.handle(this.context(), input);
      reply = okReply(ref, fields);
    } catch (error) {
      ok = false;
      reply = errorReply(ref, this.errorBody(error, operation.op));
    }
    this.outbox.send(reply);
    if (operation.op === 'send') {
      this.deps.metrics?.observeSendToAck(
        (performance.now() - receivedAt) / 1000,
        ok ? 'ok' : 'error',
      );
    }
  }

  private refuse(ref: string | null, body: RealtimeErrorBody): void {
    this.outbox.send(errorReply(ref, body));
  }

  private errorBody(error: unknown, op: string): RealtimeErrorBody {
    const described = describeError(error);
    if (described) return described;
    const report = internalErrorReport(error);
    this.deps.log.error({
      msg: 'realtime operation failed internally',
      connectionId: this.id,
      op,
      ...report,
    });
    return {
      code: 'internal',
      message: `Internal server error (${report.errorId}).`,
      retryable: false,
      errorId: report.errorId,
    };
  }

  private failInternally(error: unknown): void {
    this.errorBody(error, '(intake)');
    this.close('internal', WS_CLOSE.internalError, 'Internal server error');
  }

  private context(): RealtimeContext {
    return { principal: this.principal, connectionId: this.id, deviceId: this.deviceId };
  }

  // ---- session operations ----------------------------------------------------------------------

  private hello(ref: string, input: HelloInput): void {
    if (this.helloDone) {
      return this.refuse(ref, {
        code: 'invalid_state',
        message: 'hello was already sent on this connection',
        retryable: false,
        reason: 'hello_done',
      });
    }
    this.helloDone = true;
    if (input.deviceId !== undefined) {
      this.deviceId = input.deviceId;
      this.principal = {
        ...this.principal,
        origin: { transport: 'realtime', ...this.principal.origin, deviceId: input.deviceId },
      };
    }
    const { settings, feed, presence } = this.deps;
    if (feed) {
      this.connectionFeed = new ConnectionFeed(feed, this.principal, this.feedOutput(), {
        pageSize: settings.catchUpPageSize,
        onError: (conversationId, error) =>
          this.errorBody(error, `catch-up of conversation ${conversationId}`),
        ...(this.deps.metrics ? { onDelivered: (item, path) => this.delivered(item, path) } : {}),
      });
    }
    if (presence) {
      this.cleanups.push(
        presence.watch(this.principal, (change) => {
          this.outbox.send(
            pushFrame('presence', {
              userId: change.userId,
              status: change.status,
              lastSeenAt: change.lastSeenAt?.toISOString() ?? null,
            }),
          );
        }),
      );
    }
    const expiresAt = this.principal.tokenExpiresAt;
    this.outbox.send(
      okReply(ref, {
        connectionId: this.id,
        protocol: PROTOCOL_VERSION,
        principal: {
          id: this.principal.id,
          kind: this.principal.kind,
          tenantId: this.principal.tenantId,
        },
        tokenExpiresAt: expiresAt?.toISOString() ?? null,
        heartbeatMs: settings.heartbeatMs,
        idleTimeoutMs: settings.idleTimeoutMs,
        maxFrameBytes: settings.maxFrameBytes,
        sendBufferBytes: settings.sendBufferBytes,
        operations: [...this.sessionOperations.keys(), ...this.deps.operations.keys()],
      }),
    );
    // After the hello's reply: a domain's first push (a call ringing) follows it.
    for (const channel of this.deps.channels ?? []) {
      this.cleanups.push(
        channel.attach(this.context(), (type, fields) => this.outbox.send(pushFrame(type, fields))),
      );
    }
  }

  private sessionOperationList(): RealtimeOperation[] {
    const { feed, presence, typing } = this.deps;
    const list: RealtimeOperation[] = [
      realtimeOperation('hello', HelloInput, () => {
        throw new Error('hello is handled in order, never dispatched');
      }),
      realtimeOperation('ping', PingInput, () =>
        Promise.resolve({ serverTime: this.deps.clock.now().toISOString() }),
      ),
    ];
    if (feed) {
      list.push(
        realtimeOperation('sync', SyncInput, (_context, input) => this.sync(input)),
        realtimeOperation('join', ConversationInput, async (context, input) => {
          if (!this.joined.has(input.conversationId) && this.joined.size >= MAX_JOINED) {
            throw new RealtimeRequestError('invalid_state', 'too many conversation views joined', {
              reason: 'too_many_views',
            });
          }
          await feed.canFollow(context.principal, input.conversationId);
          this.joined.add(input.conversationId);
          this.watchTyping();
          return { conversationId: input.conversationId, joined: true };
        }),
        realtimeOperation('leave', ConversationInput, (_context, input) => {
          this.joined.delete(input.conversationId);
          if (this.joined.size === 0) this.unwatchTyping();
          return Promise.resolve({ conversationId: input.conversationId, joined: false });
        }),
      );
    }
    if (typing) {
      list.push(
        realtimeOperation('typing', ConversationInput, async (context, input) => {
          const signal = await typing.typing(context.principal, input.conversationId);
          return {
            conversationId: input.conversationId,
            expiresAt: signal.expiresAt.toISOString(),
          };
        }),
      );
    }
    if (presence) {
      list.push(
        realtimeOperation('status', StatusInput, async (context, input) => {
          await presence.setStatus(context.principal, input.status);
          return { status: input.status };
        }),
      );
    }
    return list;
  }

  /** Typing signals are watched only while a view is joined: most connections never join one. */
  private watchTyping(): void {
    const { typing } = this.deps;
    if (!typing || this.stopTyping || this.closingCause !== undefined) return;
    this.stopTyping = typing.watch(this.principal, (signal) => {
      if (!this.joined.has(signal.conversationId) || signal.userId === this.principal.id) return;
      this.outbox.send(
        pushFrame('typing', {
          conversationId: signal.conversationId,
          userId: signal.userId,
          expiresAt: signal.expiresAt.toISOString(),
        }),
      );
    });
  }

  private unwatchTyping(): void {
    this.stopTyping?.();
    this.stopTyping = undefined;
  }

  private async sync(input: SyncInput): Promise<ReplyFields> {
    const feed = this.connectionFeed!;
    const outcomes = await feed.sync({
      cursors: (input.conversations ?? []).map((c) => ({
        streamId: c.conversationId,
        revision: BigInt(c.revision),
      })),
      discover: input.discover ?? true,
    });
    return {
      conversations: outcomes.map((o) => ({
        conversationId: o.streamId,
        revision: Number(o.revision),
        status: o.status,
      })),
    };
  }

  private delivered(item: FeedItem, path: 'live' | 'catch_up'): void {
    const metrics = this.deps.metrics!;
    metrics.countDelivery(path);
    if (path === 'live' && item.recordedAt !== undefined) {
      metrics.observeAppendToDeliver(
        (this.deps.clock.now().getTime() - item.recordedAt.getTime()) / 1000,
      );
    }
  }

  private feedOutput() {
    return {
      send: (frame: string) => this.outbox.send(frame),
      hold: (bytes: number) => this.outbox.hold(bytes),
      release: (bytes: number) => this.outbox.release(bytes),
      room: () => this.outbox.room(),
      stale: (conversationId: string, revision: bigint) => {
        this.outbox.send(pushFrame('stale', { conversationId, revision: Number(revision) }));
      },
    };
  }

  // ---- idle logoff -----------------------------------------------------------------------------

  private touch(): void {
    this.lastActivity = this.deps.clock.now().getTime();
  }

  private armIdle(delayMs: number): void {
    this.idleTimer = setTimeout(() => {
      const idleFor = this.deps.clock.now().getTime() - this.lastActivity;
      const left = this.deps.settings.idleTimeoutMs - idleFor;
      if (left > 0) return this.armIdle(left);
      this.close('idle', WS_CLOSE.idle, 'Idle timeout');
    }, delayMs);
    this.idleTimer.unref();
  }

  // ---- end -------------------------------------------------------------------------------------

  private cleanUp(cause: CloseCause, code: number): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.cutOff);
    this.outbox.close();
    this.connectionFeed?.close();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.unwatchTyping();
    const { presence, log } = this.deps;
    if (presence && this.principal.kind !== 'service') {
      const principal = this.principal;
      void this.presenceOpened
        .then(() => presence.connectionClosed(principal, this.id))
        .catch((error: unknown) => this.logFailure('presence connectionClosed failed', error));
    }
    log.debug({ msg: 'realtime connection closed', connectionId: this.id, cause, code });
  }

  private logFailure(msg: string, error: unknown): void {
    const described = describeError(error);
    this.deps.log.warn({
      msg,
      connectionId: this.id,
      ...(described
        ? { code: described.code, reason: described.reason }
        : internalErrorReport(error)),
    });
  }
}

/** The `ref` of a frame refused before it was parsed, if it has one worth echoing. */
function refOf(text: string | undefined): string | null {
  if (text === undefined) return null;
  const parsed = parseRequest(text);
  return parsed.ok ? parsed.request.ref : parsed.ref;
}
