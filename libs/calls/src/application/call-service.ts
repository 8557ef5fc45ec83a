import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type {
  AccessActor,
  AccessPolicy,
  AccessRecord,
  AccessRecorder,
  Principal,
} from '@ledgerline/identity';
import {
  ConflictError,
  TooLargeError,
  ValidationError,
  describeError,
  type Clock,
} from '@ledgerline/kernel';
import type { CommandHandler, CommandRunner } from '@ledgerline/pipeline';
import {
  SfuRequestError,
  SfuUnavailableError,
  type SfuEvent,
  type SfuJoinReply,
  type SfuParticipantRef,
  type SfuParticipantStats,
  type SfuPort,
} from '@ledgerline/sfu';
import type { CallCommand } from '../domain/call.commands';
import {
  CONVERSATION_ID,
  callId as callIdOf,
  callStreamId,
  parseCallId,
} from '../domain/call-stream';
import { decideCall, deviceKey, type CallState } from '../domain/call.decider';
import {
  CallConversationNotFoundError,
  CallNotFoundError,
  CallRefusalReason,
  CallRefused,
} from '../domain/call.errors';
import type {
  CallActor,
  CallEvent,
  CallKind,
  CallMedia,
  CallRole,
  DeviceRef,
} from '../domain/call.events';
import { encodeCallEvent } from './call-events.codec';
import type { CallFanOut, CallUpdate } from './call-fan-out';
import type { CallConnections } from './call-connections.port';
import type { CallReads } from './call-reads.port';
import type { CallSignalRelay, RelayedSignal } from './call-signal-relay.port';
import type { CallStates, LoadedCall } from './call-states';
import { callView, type CallHistoryEntry, type CallView } from './call-views';
import {
  CallSfuRequestError,
  CallSfuUnavailableError,
  CallSignalRateLimitedError,
  InvalidCallSignalError,
} from './calls.errors';

/**
 * Who is in which conversation: calls' port, which the app binds to libs/conversations' membership
 * read model (SqlConversationMemberships).
 */
export interface CallMemberships {
  isMember(tenantId: string, conversationId: string, memberId: string): Promise<boolean>;
  membersOf(tenantId: string, conversationId: string): Promise<ReadonlySet<string>>;
}

/** The STUN/TURN servers a member should use (libs/turn's IceServerIssuer). */
export interface CallIceServers {
  forMember(
    tenantId: string,
    userId: string,
  ): { readonly iceServers: readonly object[]; readonly expiresAt: Date };
}

export interface CallLog {
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

export interface CallServiceOptions {
  readonly clock: Clock;
  readonly ringTimeoutMs: number;
  readonly graceMs: number;
  readonly maxParticipants: number;
  /** 0: only when `sweep()` is called (tests drive it). */
  readonly sweepIntervalMs: number;
  readonly maxSdpBytes: number;
  readonly iceRateLimit: { readonly points: number; readonly windowMs: number };
  readonly log: CallLog;
  /** Resolves once the read models hold everything committed so far (bounded; may reject). */
  readonly catchUp?: () => Promise<void>;
  /**
   * This node, and how long its record of a device's connection lasts unless its sweep renews
   * it: a node that dies leaves rows that expire, and another node's sweep disconnects those
   * devices. Both unset: connections are only known on the node that holds them.
   */
  readonly nodeId?: string;
  readonly connectionLeaseMs?: number;
}

/** What a start, accept or join answers: the call, the ICE servers, and the SFU's reply for group calls. */
export interface CallEntry {
  readonly call: CallView;
  readonly iceServers: readonly object[];
  readonly iceServersExpireAt: string;
  readonly sfu?: SfuJoinReply;
}

export interface SignalInput {
  readonly callId: string;
  readonly deviceId: string;
  readonly toUserId: string;
  readonly toDeviceId: string;
  readonly kind: 'offer' | 'answer' | 'candidate';
  readonly sdp?: string;
  readonly candidate?: Readonly<Record<string, unknown>>;
}

export const DEVICE_ID = /^[!-~]{1,128}$/;
const MEMBER_ID = /^[!-;=?-~]{1,128}$/;
const SYSTEM: CallActor = { id: 'calls', kind: 'system' };
/** SDP direction attributes a listener may not offer or answer with. */
const SENDING = /^a=(sendrecv|sendonly)\s*$/m;

interface Decided {
  readonly loaded: LoadedCall;
  readonly events: readonly CallEvent[];
}

class CallBusyError extends ConflictError {
  override readonly code = 'call_busy';
  override readonly retryable = true;
  readonly reason = 'call_busy';
}

/**
 * The calls application: every command goes through the one CommandRunner (load, pure decide,
 * seal, append at the loaded revision), then its consequences follow: access records for joins,
 * leaves and media sessions, the SFU told of leaves and ends. Ring timeouts and grace periods are
 * in the events, so in the read model: every node's `sweep` issues the timers that are due, and a
 * node that restarts finds them again. Signals are relayed sealed (CallSignalRelay).
 */
export class CallService {
  private readonly limiter: RateLimiterMemory;
  private readonly localDevices = new Map<string, number>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopSfuEvents: (() => void) | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  /** SFU participants the engine reported gone (their media session is recorded already). */
  private readonly gone = new Set<string>();
  /** When this node last renewed its connection records (its clock). */
  private renewedAt: number | undefined;

  constructor(
    private readonly runner: Pick<CommandRunner, 'run'>,
    private readonly states: CallStates,
    private readonly reads: CallReads,
    private readonly connections: CallConnections,
    private readonly access: Pick<AccessPolicy, 'check' | 'allows'>,
    private readonly recorder: AccessRecorder,
    private readonly memberships: CallMemberships,
    private readonly iceServers: CallIceServers,
    private readonly relay: CallSignalRelay,
    private readonly fanOut: CallFanOut,
    private readonly sfu: SfuPort | undefined,
    private readonly options: CallServiceOptions,
  ) {
    this.limiter = new RateLimiterMemory({
      points: options.iceRateLimit.points,
      duration: options.iceRateLimit.windowMs / 1000,
    });
  }

  /** Which engine group calls use, if any. */
  get sfuEngine(): string | undefined {
    return this.sfu?.engine;
  }

  async start(): Promise<void> {
    this.fanOut.start();
    await this.relay.start();
    this.stopSfuEvents = this.sfu?.onEvent((event) => this.track(this.onSfuEvent(event)));
    // Connections an earlier process under this node id left behind died with it.
    const leased = this.leased;
    if (leased) {
      const stale = await this.connections.releaseNode(leased.nodeId);
      for (const { tenantId, device } of stale) this.track(this.deviceOffline(tenantId, device));
    }
    if (this.options.sweepIntervalMs > 0) {
      this.sweeper = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
      this.sweeper.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.stopSfuEvents?.();
    await this.sweeping;
    await Promise.allSettled([...this.inflight]);
    await this.fanOut.stop();
    await this.relay.stop();
  }

  // ---- commands ----------------------------------------------------------------------------------

  async startCall(
    principal: Principal,
    input: {
      readonly conversationId: string;
      readonly kind: CallKind;
      readonly media: CallMedia;
      readonly deviceId: string;
      readonly role?: CallRole;
    },
  ): Promise<CallEntry> {
    assertId('conversationId', input.conversationId, CONVERSATION_ID);
    assertId('deviceId', input.deviceId, DEVICE_ID);
    const tenantId = principal.tenantId;
    await this.access.check(principal, 'call.start', {
      tenantId,
      type: 'conversation',
      id: input.conversationId,
    });
    const isMember = await this.isMember(tenantId, input.conversationId, principal.id);
    const members = await this.memberships.membersOf(tenantId, input.conversationId);
    const maySpeak = this.maySpeak(principal);
    // Before anything is appended: TURN not configured refuses the start, changing nothing.
    const ice = this.iceServers.forMember(tenantId, principal.id);
    if (input.kind === 'group') {
      if (!this.sfu) throw new CallSfuUnavailableError('not_configured');
      // Refusals that need no state come before a room is made for nothing.
      if (!isMember) throw new CallConversationNotFoundError(input.conversationId);
      if (input.role === 'speaker' && !maySpeak) {
        throw new CallRefused(CallRefusalReason.ListenOnly);
      }
    }
    const latest = await this.reads.latestSequence(tenantId, input.conversationId);
    // From the latest call the read model knows (it may lag): a live one refuses, an ended one
    // passes to the next id. So call n+1 is only ever started after call n was seen ended in its
    // own stream, and two nodes starting n+1 race on one stream, where one append wins.
    let sequence = latest;
    // The read model may lag: ids of calls that ended are passed over; a live one refuses.
    for (let tries = 0; ; tries++) {
      const id = callIdOf(input.conversationId, sequence);
      if (input.kind === 'group') await this.createRoom(tenantId, id);
      try {
        const decided = await this.run(principal, {
          type: 'StartCall',
          data: {
            ...this.base(principal, id),
            isMember,
            maySpeak,
            deviceId: input.deviceId,
            kind: input.kind,
            media: input.media,
            role: input.role ?? (maySpeak ? 'speaker' : 'listener'),
            others: [...members].filter((m) => m !== principal.id),
            maxParticipants: this.options.maxParticipants,
            ringTimeoutMs: this.options.ringTimeoutMs,
          },
        });
        return await this.entered(principal, decided, input.deviceId, ice);
      } catch (error) {
        if (
          error instanceof CallRefused &&
          error.reason === CallRefusalReason.CallIdTaken &&
          tries < 1_000
        ) {
          sequence += 1;
          continue;
        }
        throw error;
      }
    }
  }

  async acceptCall(
    principal: Principal,
    input: { readonly callId: string; readonly deviceId: string; readonly role?: CallRole },
  ): Promise<CallEntry> {
    return this.enter(principal, input, 'AcceptCall');
  }

  async joinCall(
    principal: Principal,
    input: { readonly callId: string; readonly deviceId: string; readonly role?: CallRole },
  ): Promise<CallEntry> {
    return this.enter(principal, input, 'JoinCall');
  }

  async declineCall(
    principal: Principal,
    input: { readonly callId: string; readonly deviceId: string },
  ): Promise<CallView> {
    const conversationId = await this.authorize(principal, input.callId);
    assertId('deviceId', input.deviceId, DEVICE_ID);
    const decided = await this.run(principal, {
      type: 'DeclineCall',
      data: { ...this.base(principal, input.callId, conversationId), deviceId: input.deviceId },
    });
    return callView(decided.loaded.state, decided.loaded.revision);
  }

  async cancelCall(principal: Principal, input: { readonly callId: string }): Promise<CallView> {
    const conversationId = await this.authorize(principal, input.callId);
    const decided = await this.run(principal, {
      type: 'CancelCall',
      data: this.base(principal, input.callId, conversationId),
    });
    return callView(decided.loaded.state, decided.loaded.revision);
  }

  async leaveCall(
    principal: Principal,
    input: { readonly callId: string; readonly deviceId: string },
  ): Promise<CallView> {
    const conversationId = await this.authorize(principal, input.callId);
    assertId('deviceId', input.deviceId, DEVICE_ID);
    const decided = await this.run(principal, {
      type: 'LeaveCall',
      data: {
        ...this.base(principal, input.callId, conversationId),
        deviceId: input.deviceId,
        reason: 'left',
      },
    });
    return callView(decided.loaded.state, decided.loaded.revision);
  }

  async endCall(principal: Principal, input: { readonly callId: string }): Promise<CallView> {
    const conversationId = await this.authorize(principal, input.callId);
    const decided = await this.run(principal, {
      type: 'EndCall',
      data: this.base(principal, input.callId, conversationId),
    });
    return callView(decided.loaded.state, decided.loaded.revision);
  }

  /**
   * Relays an SDP offer or answer, or an ICE candidate, to one device in the call. The sender's
   * device and the target must both be in it; SDP is capped; candidates are rate-limited per
   * device and call; a listener may not offer to send. Nothing is stored in clear.
   */
  async signal(principal: Principal, input: SignalInput): Promise<void> {
    const conversationId = await this.authorize(principal, input.callId);
    assertId('deviceId', input.deviceId, DEVICE_ID);
    assertId('toUserId', input.toUserId, MEMBER_ID);
    assertId('toDeviceId', input.toDeviceId, DEVICE_ID);
    let payload: Record<string, unknown>;
    if (input.kind === 'candidate') {
      if (!input.candidate) throw new InvalidCallSignalError('candidate', 'required');
      try {
        await this.limiter.consume(
          JSON.stringify([principal.tenantId, principal.id, input.deviceId, input.callId]),
        );
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          throw new CallSignalRateLimitedError(Math.max(1, rejection.msBeforeNext));
        }
        throw rejection;
      }
      payload = { candidate: input.candidate };
    } else {
      if (typeof input.sdp !== 'string' || input.sdp.length === 0) {
        throw new InvalidCallSignalError('sdp', 'required');
      }
      const bytes = Buffer.byteLength(input.sdp, 'utf8');
      if (bytes > this.options.maxSdpBytes) {
        throw new TooLargeError('sdp', bytes, this.options.maxSdpBytes);
      }
      payload = { sdp: input.sdp };
    }
    const state = await this.current(principal.tenantId, input.callId, (s) =>
      Boolean(s.devices[deviceKey(input.toUserId, input.toDeviceId)]),
    );
    if (state.status === 'none') throw new CallNotFoundError(input.callId);
    const from = state.devices[deviceKey(principal.id, input.deviceId)];
    if (!from) throw new CallRefused(CallRefusalReason.NotParticipant);
    const to = state.devices[deviceKey(input.toUserId, input.toDeviceId)];
    if (!to || (to.userId === from.userId && to.deviceId === from.deviceId)) {
      throw new CallRefused(CallRefusalReason.TargetNotInCall);
    }
    if (from.role === 'listener' && input.sdp !== undefined && SENDING.test(input.sdp)) {
      throw new CallRefused(CallRefusalReason.ListenOnly);
    }
    void conversationId;
    await this.relay.send({
      tenantId: principal.tenantId,
      callId: input.callId,
      to: { userId: to.userId, deviceId: to.deviceId },
      from: { userId: from.userId, deviceId: from.deviceId },
      kind: input.kind,
      payload,
    });
  }

  /** A group call participant's signalling to the SFU (transport, produce, consume, layers…). */
  async sfuRequest(
    principal: Principal,
    input: {
      readonly callId: string;
      readonly deviceId: string;
      readonly method: string;
      readonly data: Readonly<Record<string, unknown>>;
    },
  ): Promise<Readonly<Record<string, unknown>>> {
    await this.authorize(principal, input.callId);
    assertId('deviceId', input.deviceId, DEVICE_ID);
    if (!this.sfu) throw new CallSfuUnavailableError('not_configured');
    const state = await this.current(principal.tenantId, input.callId, (s) =>
      Boolean(s.devices[deviceKey(principal.id, input.deviceId)]),
    );
    if (!state.devices[deviceKey(principal.id, input.deviceId)]) {
      throw new CallRefused(CallRefusalReason.NotParticipant);
    }
    try {
      const reply = await this.sfu.request(
        sfuRef(principal.tenantId, input.callId, principal.id, input.deviceId),
        { method: input.method, data: input.data },
      );
      return reply.data;
    } catch (error) {
      throw sfuError(error);
    }
  }

  // ---- queries -----------------------------------------------------------------------------------

  async callOf(principal: Principal, callId: string): Promise<CallView> {
    await this.authorize(principal, callId);
    const loaded = await this.states.load(
      principal.tenantId,
      callStreamId(principal.tenantId, callId),
      { cached: false },
    );
    if (loaded.state.status === 'none') throw new CallNotFoundError(callId);
    return callView(loaded.state, loaded.revision);
  }

  /** The conversation's calls, newest first: who started each, who was in it, how long, how it ended. */
  async history(
    principal: Principal,
    conversationId: string,
    limit = 50,
  ): Promise<CallHistoryEntry[]> {
    assertId('conversationId', conversationId, CONVERSATION_ID);
    await this.access.check(principal, 'call.join', {
      tenantId: principal.tenantId,
      type: 'conversation',
      id: conversationId,
    });
    if (
      principal.kind !== 'service' &&
      !(await this.isMember(principal.tenantId, conversationId, principal.id))
    ) {
      throw new CallConversationNotFoundError(conversationId);
    }
    return this.reads.history(
      principal.tenantId,
      conversationId,
      Math.max(1, Math.min(limit, 200)),
    );
  }

  // ---- live --------------------------------------------------------------------------------------

  /**
   * Call changes concerning the principal and, with a device, the signals sent to that device,
   * until the returned function is called. The device counts as connected meanwhile: when the
   * last of its watches on this node ends, it is disconnected from its calls (it leaves them
   * after the grace period unless it comes back).
   */
  watch(
    principal: Principal,
    deviceId: string | undefined,
    onUpdate: (update: CallUpdate) => void,
    onSignal: (signal: RelayedSignal) => void,
  ): () => void {
    if (principal.kind === 'service' || !this.access.allows(principal, 'call.join')) {
      return () => undefined;
    }
    const stopUpdates = this.fanOut.watch(principal.tenantId, principal.id, onUpdate);
    if (deviceId === undefined || !DEVICE_ID.test(deviceId)) return stopUpdates;
    const device = { userId: principal.id, deviceId };
    const stopSignals = this.relay.attach(principal.tenantId, device, onSignal);
    const key = JSON.stringify([principal.tenantId, principal.id, deviceId]);
    const count = (this.localDevices.get(key) ?? 0) + 1;
    this.localDevices.set(key, count);
    if (count === 1) this.track(this.deviceOnline(principal.tenantId, device));
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      stopUpdates();
      stopSignals();
      const left = (this.localDevices.get(key) ?? 1) - 1;
      if (left > 0) {
        this.localDevices.set(key, left);
        return;
      }
      this.localDevices.delete(key);
      this.track(this.deviceOffline(principal.tenantId, device));
    };
  }

  whenLive(timeoutMs: number): Promise<void> {
    return this.fanOut.whenLive(timeoutMs);
  }

  /** Issues the ring timeouts and grace periods that are due, and drops expired signals. */
  sweep(): Promise<void> {
    this.sweeping ??= this.runSweep().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async runSweep(): Promise<void> {
    try {
      const now = this.options.clock.now();
      const due = await this.reads.dueTimers(now);
      for (const row of due) {
        await this.runSystem({
          type: 'ExpireCallTimers',
          data: {
            tenantId: row.tenantId,
            callId: row.callId,
            conversationId: row.conversationId,
            actor: SYSTEM,
            at: now,
          },
        }).catch((error: unknown) =>
          this.options.log.warn({
            msg: 'call timers not issued; next sweep retries',
            callId: row.callId,
            ...describeError(error),
          }),
        );
      }
      await this.relay.sweep();
      await this.sweepConnections(now);
    } catch (error) {
      this.options.log.warn({
        msg: 'call sweep failed; next one retries',
        ...describeError(error),
      });
    }
  }

  // ---- internals ---------------------------------------------------------------------------------

  private async enter(
    principal: Principal,
    input: { readonly callId: string; readonly deviceId: string; readonly role?: CallRole },
    type: 'AcceptCall' | 'JoinCall',
  ): Promise<CallEntry> {
    const conversationId = await this.authorize(principal, input.callId, { membership: false });
    assertId('deviceId', input.deviceId, DEVICE_ID);
    const tenantId = principal.tenantId;
    const isMember = await this.isMember(tenantId, conversationId, principal.id);
    const maySpeak = this.maySpeak(principal);
    const ice = this.iceServers.forMember(tenantId, principal.id);
    const before = await this.states.load(tenantId, callStreamId(tenantId, input.callId), {
      cached: true,
    });
    if (before.state.kind === 'group' && before.state.status !== 'none') {
      if (!this.sfu) throw new CallSfuUnavailableError('not_configured');
      await this.createRoom(tenantId, input.callId);
    }
    const decided = await this.run(principal, {
      type,
      data: {
        ...this.base(principal, input.callId, conversationId),
        isMember,
        maySpeak,
        deviceId: input.deviceId,
        role: input.role ?? (maySpeak ? 'speaker' : 'listener'),
      },
    });
    return this.entered(principal, decided, input.deviceId, ice);
  }

  /** The reply of a start/accept/join: ICE servers, and for a group call the SFU's admission. */
  private async entered(
    principal: Principal,
    decided: Decided,
    deviceId: string,
    ice: ReturnType<CallIceServers['forMember']>,
  ): Promise<CallEntry> {
    const { state, revision } = decided.loaded;
    let sfu: SfuJoinReply | undefined;
    const device = state.devices[deviceKey(principal.id, deviceId)];
    if (state.kind === 'group' && this.sfu && device) {
      try {
        sfu = await this.sfu.join(
          sfuRef(principal.tenantId, state.callId, principal.id, deviceId),
          {
            userId: principal.id,
            deviceId,
            listenOnly: device.role === 'listener',
          },
        );
      } catch (error) {
        // In the call without media is no state to leave it in: it leaves again, and says why.
        await this.runSystem({
          type: 'LeaveCall',
          data: {
            tenantId: principal.tenantId,
            callId: state.callId,
            conversationId: state.conversationId,
            actor: SYSTEM,
            at: this.options.clock.now(),
            userId: principal.id,
            deviceId,
            reason: 'transport_timeout',
          },
        }).catch(() => undefined);
        throw sfuError(error);
      }
    }
    return {
      call: callView(state, revision),
      iceServers: ice.iceServers,
      iceServersExpireAt: ice.expiresAt.toISOString(),
      ...(sfu ? { sfu } : {}),
    };
  }

  private async createRoom(tenantId: string, callId: string): Promise<void> {
    try {
      await this.sfu!.createRoom(roomIdOf(tenantId, callId), {
        maxParticipants: this.options.maxParticipants,
      });
    } catch (error) {
      throw sfuError(error);
    }
  }

  /** The conversation a call id names, after the access check (and, by default, membership). */
  private async authorize(
    principal: Principal,
    callId: string,
    options: { readonly membership: boolean } = { membership: true },
  ): Promise<string> {
    const parsed = parseCallId(callId);
    if (!parsed) throw new ValidationError('callId: invalid_format', 'callId');
    await this.access.check(principal, 'call.join', {
      tenantId: principal.tenantId,
      type: 'conversation',
      id: parsed.conversationId,
    });
    if (
      options.membership &&
      principal.kind !== 'service' &&
      !(await this.isMember(principal.tenantId, parsed.conversationId, principal.id))
    ) {
      throw new CallNotFoundError(callId);
    }
    return parsed.conversationId;
  }

  /**
   * Membership from the conversations' read model. A "no" may only mean the read model has not
   * caught up with a conversation (or a member) added a moment ago: it is asked again once the
   * read models hold everything committed so far (read-your-writes for a create-then-call).
   */
  private async isMember(
    tenantId: string,
    conversationId: string,
    userId: string,
  ): Promise<boolean> {
    if (await this.memberships.isMember(tenantId, conversationId, userId)) return true;
    if (!this.options.catchUp) return false;
    await this.options.catchUp();
    return this.memberships.isMember(tenantId, conversationId, userId);
  }

  private maySpeak(principal: Principal): boolean {
    return this.access.allows(principal, 'call.speak', { tenantId: principal.tenantId });
  }

  private base(principal: Principal, callId: string, conversationId?: string) {
    return {
      tenantId: principal.tenantId,
      callId,
      conversationId: conversationId ?? parseCallId(callId)!.conversationId,
      actor: { id: principal.id, kind: principal.kind } as CallActor,
      at: this.options.clock.now(),
    };
  }

  /** The call's state; read again from its stream when the cached one fails `fresh`. */
  private async current(
    tenantId: string,
    callId: string,
    fresh: (state: CallState) => boolean,
  ): Promise<CallState> {
    const streamId = callStreamId(tenantId, callId);
    const cached = await this.states.load(tenantId, streamId, { cached: true });
    if (fresh(cached.state)) return cached.state;
    return (await this.states.load(tenantId, streamId, { cached: false })).state;
  }

  private run(principal: Principal, command: CallCommand): Promise<Decided> {
    return this.decide(command, principal);
  }

  private runSystem(command: CallCommand): Promise<Decided> {
    return this.decide(command, undefined);
  }

  private async decide(command: CallCommand, principal: Principal | undefined): Promise<Decided> {
    const decided = await this.runner.run(this.handler(), this.states, command);
    if (decided.events.length > 0) await this.consequences(decided, principal);
    return decided;
  }

  private handler(): CommandHandler<CallCommand, CallState, LoadedCall, CallEvent, Decided> {
    return {
      target: (c) => ({
        tenantId: c.data.tenantId,
        streamId: callStreamId(c.data.tenantId, c.data.callId),
      }),
      decide: (c, loaded) => decideCall(c, loaded.state),
      encode: (event, eventId) => encodeCallEvent(event, eventId),
      unchanged: (_c, loaded) => ({ loaded, events: [] }),
      appended: (_c, loaded, { events, result }) => ({
        loaded: this.states.appended(loaded, events, result.nextExpectedRevision),
        events,
      }),
      busy: () => new CallBusyError('the call kept changing; retry'),
    };
  }

  /** After an append: access records of joins and leaves; the SFU told of leaves and the end. */
  private async consequences(decided: Decided, principal: Principal | undefined): Promise<void> {
    const { state } = decided.loaded;
    const records: AccessRecord[] = [];
    for (const event of decided.events) {
      if (
        event.type !== 'ParticipantJoined' &&
        event.type !== 'ParticipantLeft' &&
        event.type !== 'CallStarted'
      )
        continue;
      const who =
        event.type === 'CallStarted'
          ? event.data.initiator
          : { userId: event.data.userId, deviceId: event.data.deviceId };
      const byThem = principal !== undefined && principal.id === who.userId;
      records.push({
        tenantId: state.tenantId,
        actor: byThem ? actorOf(principal) : { id: who.userId, kind: 'user', roles: [] },
        action: event.type === 'ParticipantLeft' ? 'call.left' : 'call.joined',
        outcome: 'allowed',
        ...(event.type === 'ParticipantLeft' ? { reason: event.data.reason } : {}),
        conversationId: state.conversationId,
        resourceType: 'call',
        targetIds: [state.callId, who.deviceId],
        subjectUserIds: [who.userId],
        origin:
          byThem && principal.origin
            ? { ...principal.origin, deviceId: who.deviceId }
            : { transport: 'internal', deviceId: who.deviceId },
      });
    }
    await Promise.all(records.map((r) => this.recorder.record(r)));
    if (state.kind !== 'group' || !this.sfu) return;
    for (const event of decided.events) {
      if (event.type === 'ParticipantLeft') {
        this.track(
          this.sfuLeft(state, { userId: event.data.userId, deviceId: event.data.deviceId }),
        );
      }
      if (event.type === 'CallEnded') {
        const roomId = roomIdOf(state.tenantId, state.callId);
        this.track(
          this.sfu
            .closeRoom(roomId)
            .catch((error: unknown) =>
              this.options.log.warn({ msg: 'sfu room not closed', ...describeError(error) }),
            ),
        );
      }
    }
  }

  /** The device left the SFU room: its counters become a media audit event and access record. */
  private async sfuLeft(state: CallState, device: DeviceRef): Promise<void> {
    const ref = sfuRef(state.tenantId, state.callId, device.userId, device.deviceId);
    const stats = await this.sfu!.leave(ref);
    // The engine reported it gone with its counters already (recorded then).
    if (this.gone.delete(`${ref.roomId} ${ref.participantId}`) || !stats) return;
    await this.recordMedia(state, device, stats);
  }

  private async recordMedia(
    state: CallState,
    device: DeviceRef,
    stats: SfuParticipantStats,
  ): Promise<void> {
    const now = this.options.clock.now();
    await this.runner.run(this.handler(), this.states, {
      type: 'RecordMediaSession',
      data: {
        tenantId: state.tenantId,
        callId: state.callId,
        conversationId: state.conversationId,
        actor: SYSTEM,
        at: now,
        userId: device.userId,
        deviceId: device.deviceId,
        engine: this.sfu?.engine ?? 'unknown',
        joinedAt: stats.joinedAt,
        leftAt: stats.leftAt ?? now.toISOString(),
        bytesSent: stats.bytesSent,
        bytesReceived: stats.bytesReceived,
        ...(stats.remoteAddress === undefined ? {} : { remoteAddress: stats.remoteAddress }),
      },
    } satisfies CallCommand);
    await this.recorder.record({
      tenantId: state.tenantId,
      actor: { id: device.userId, kind: 'user', roles: [] },
      action: 'call.media',
      outcome: 'allowed',
      conversationId: state.conversationId,
      resourceType: 'call_media',
      targetIds: [state.callId, device.deviceId],
      subjectUserIds: [device.userId],
      origin: {
        transport: 'internal',
        deviceId: device.deviceId,
        ...(stats.remoteAddress === undefined ? {} : { clientAddress: stats.remoteAddress }),
      },
    });
  }

  private async onSfuEvent(event: SfuEvent): Promise<void> {
    const roomId = event.kind === 'engine-failure' ? event.roomId : event.ref.roomId;
    const room = parseRoomId(roomId);
    if (!room) return;
    const loaded = await this.states.load(room.tenantId, callStreamId(room.tenantId, room.callId), {
      cached: false,
    });
    const state = loaded.state;
    if (state.status === 'none') return;
    const base = {
      tenantId: room.tenantId,
      callId: room.callId,
      conversationId: state.conversationId,
      actor: SYSTEM,
      at: this.options.clock.now(),
    };
    switch (event.kind) {
      case 'participant-gone': {
        const device = parseParticipantId(event.ref.participantId);
        if (!device) return;
        this.gone.add(`${event.ref.roomId} ${event.ref.participantId}`);
        await this.recordMedia(state, device, event.stats);
        await this.runSystem({
          type: 'LeaveCall',
          data: {
            ...base,
            userId: device.userId,
            deviceId: device.deviceId,
            reason: 'transport_timeout',
          },
        });
        return;
      }
      case 'engine-failure': {
        await this.runSystem({
          type: 'RecordEngineFailure',
          data: {
            ...base,
            engine: this.sfu?.engine ?? 'unknown',
            detail: event.detail.slice(0, 64),
            reconnect: event.reconnect,
          },
        });
        await this.recorder.record({
          tenantId: room.tenantId,
          actor: { id: 'calls', kind: 'operator', roles: [] },
          action: 'call.engine_failed',
          outcome: 'failed',
          reason: event.detail.slice(0, 64),
          conversationId: state.conversationId,
          resourceType: 'call_media',
          targetIds: [room.callId],
          subjectUserIds: state.everJoined,
        });
        for (const participantId of event.reconnect) {
          const device = parseParticipantId(participantId);
          if (!device) continue;
          await this.relay.send({
            tenantId: room.tenantId,
            callId: room.callId,
            to: device,
            kind: 'sfu',
            payload: { event: 'reconnect' },
          });
        }
        return;
      }
      case 'signal': {
        const device = parseParticipantId(event.ref.participantId);
        if (!device) return;
        await this.relay.send({
          tenantId: room.tenantId,
          callId: room.callId,
          to: device,
          kind: 'sfu',
          payload: { data: event.data },
        });
        return;
      }
      case 'active-speaker': {
        const speaker = parseParticipantId(event.ref.participantId);
        if (!speaker) return;
        for (const d of Object.values(state.devices)) {
          await this.relay.send({
            tenantId: room.tenantId,
            callId: room.callId,
            to: d,
            kind: 'sfu',
            payload: {
              event: 'active-speaker',
              userId: speaker.userId,
              deviceId: speaker.deviceId,
            },
          });
        }
        return;
      }
    }
  }

  private get leased(): { nodeId: string; leaseMs: number } | undefined {
    const { nodeId, connectionLeaseMs } = this.options;
    return nodeId !== undefined && connectionLeaseMs !== undefined
      ? { nodeId, leaseMs: connectionLeaseMs }
      : undefined;
  }

  /** A device's first connection on this node: recorded (leased), and its calls told. */
  private async deviceOnline(tenantId: string, device: DeviceRef): Promise<void> {
    const leased = this.leased;
    if (leased) {
      await this.connections.connect(leased.nodeId, tenantId, device, this.options.clock.now());
    }
    await this.deviceSeen(tenantId, device, 'ReconnectDevice');
  }

  /** A device's last connection on this node closed: its calls are told, unless it is live elsewhere. */
  private async deviceOffline(tenantId: string, device: DeviceRef): Promise<void> {
    const leased = this.leased;
    if (leased) {
      await this.connections.disconnect(leased.nodeId, tenantId, device);
      if (await this.liveElsewhere(tenantId, device)) return;
    }
    await this.deviceSeen(tenantId, device, 'DisconnectDevice');
  }

  private liveElsewhere(tenantId: string, device: DeviceRef): Promise<boolean> {
    const leased = this.leased!;
    return this.connections.connectedSince(
      tenantId,
      device,
      new Date(this.options.clock.now().getTime() - leased.leaseMs),
    );
  }

  /**
   * Renews this node's connection records, and disconnects the devices whose records expired
   * (their node died without closing them) unless they are connected on another node.
   */
  private async sweepConnections(now: Date): Promise<void> {
    const leased = this.leased;
    if (!leased) return;
    // Every third of the lease is enough (as presence renews its own rows): renewing every node's
    // row at every sweep (each second) rewrote every connected device's row each time.
    if (this.renewedAt === undefined || now.getTime() - this.renewedAt >= leased.leaseMs / 3) {
      await this.connections.renew(leased.nodeId, now);
      this.renewedAt = now.getTime();
    }
    const expired = await this.connections.expire(new Date(now.getTime() - leased.leaseMs));
    for (const { tenantId, device } of expired) {
      if (await this.liveElsewhere(tenantId, device)) continue;
      await this.deviceSeen(tenantId, device, 'DisconnectDevice');
    }
  }

  /** The device's connection came back, or went away: its calls are told. */
  private async deviceSeen(
    tenantId: string,
    device: DeviceRef,
    type: 'ReconnectDevice' | 'DisconnectDevice',
  ): Promise<void> {
    const calls = await this.reads.callsOfDevice(tenantId, device, {
      inGraceOnly: type === 'ReconnectDevice',
    });
    for (const row of calls) {
      const base = {
        tenantId,
        callId: row.callId,
        conversationId: row.conversationId,
        actor: SYSTEM,
        at: this.options.clock.now(),
        userId: device.userId,
        deviceId: device.deviceId,
      };
      await this.runSystem(
        type === 'DisconnectDevice'
          ? { type, data: { ...base, graceMs: this.options.graceMs } }
          : { type, data: base },
      );
    }
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) =>
      this.options.log.warn({ msg: 'call follow-up failed', ...describeError(error) }),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }
}

function actorOf(principal: Principal): AccessActor {
  return {
    id: principal.id,
    kind: principal.kind,
    roles: [...principal.roles],
    ...(principal.credentialId === undefined ? {} : { credentialId: principal.credentialId }),
  };
}

function assertId(field: string, value: unknown, pattern: RegExp): void {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ValidationError(`${field}: invalid_format`, field);
  }
}

/** Rooms are named `<tenant>/<callId>` (tenant ids have no `/`), participants by user and device. */
export function roomIdOf(tenantId: string, callId: string): string {
  return `${tenantId}/${callId}`;
}

function parseRoomId(roomId: string): { tenantId: string; callId: string } | undefined {
  const slash = roomId.indexOf('/');
  if (slash <= 0) return undefined;
  const callId = roomId.slice(slash + 1);
  return parseCallId(callId) ? { tenantId: roomId.slice(0, slash), callId } : undefined;
}

function sfuRef(
  tenantId: string,
  callId: string,
  userId: string,
  deviceId: string,
): SfuParticipantRef {
  return { roomId: roomIdOf(tenantId, callId), participantId: deviceKey(userId, deviceId) };
}

function parseParticipantId(participantId: string): DeviceRef | undefined {
  try {
    const parsed = JSON.parse(participantId) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      parsed.every((p) => typeof p === 'string')
    ) {
      return { userId: parsed[0] as string, deviceId: parsed[1] as string };
    }
  } catch {
    // not ours
  }
  return undefined;
}

function sfuError(error: unknown): Error {
  if (error instanceof SfuUnavailableError) return new CallSfuUnavailableError('engine_down');
  if (error instanceof SfuRequestError) return new CallSfuRequestError();
  return error instanceof Error ? error : new Error('sfu failure');
}
