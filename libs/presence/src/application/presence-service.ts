import type { EventStore } from '@ledgerline/event-store';
import type { AccessPolicy, Principal } from '@ledgerline/identity';
import {
  describeError,
  type Clock,
  type GlobalPosition,
  type IdGenerator,
} from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import {
  CommandRunner,
  type CommandHandler,
  type LoadedState,
  type StateLoader,
} from '@ledgerline/pipeline';
import type { PresenceEvent } from '../domain/presence.events';
import type { PresenceCommand } from '../domain/presence.commands';
import {
  decidePresence,
  evolvePresence,
  initialPresenceState,
  offlineDueAt,
  type PresenceState,
} from '../domain/presence.decider';
import {
  InvalidPresenceInput,
  PresenceRefusalReason,
  PresenceRefused,
} from '../domain/presence.errors';
import { presenceStreamId } from '../domain/presence-stream';
import { encodePresenceEvent, openPresenceEvent } from './presence-events.codec';
import type {
  ConnectionObservation,
  ConnectionSubject,
  PresenceConnections,
} from './presence-connections.port';
import {
  PresenceFanOut,
  type PresenceAudience,
  type PresenceFanOutOptions,
} from './presence-fan-out';
import { PresenceBusyError, PresenceNotVisibleError } from './presence.errors';
import {
  SILENT_PRESENCE_LOG,
  presenceView,
  type PresenceChange,
  type PresenceLog,
  type PresenceView,
} from './presence-views';

/**
 * Who shares a conversation with whom: presence's port, which the app binds to libs/conversations'
 * membership read model (SqlConversationMemberships).
 */
export interface PresenceMemberships extends PresenceAudience {
  sharesConversation(tenantId: string, a: string, b: string): Promise<boolean>;
}

export interface PresenceServiceOptions {
  /** This process; unique among the processes sharing the database. */
  readonly nodeId: string;
  /** No connection on any node for this long: the user goes offline. */
  readonly graceMs: number;
  /** A node renews its connections within this time, or they expire. */
  readonly connectionLeaseMs: number;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /**
   * How often this node renews its connections and looks for users due to go offline (whose last
   * connection was on a node that died, or whose timer was lost). Default: a third of the lease;
   * 0: only when `sweep()` is called (tests drive it by hand).
   */
  readonly sweepIntervalMs?: number;
  /** After a user's last connection here closes, check again when the grace period ends (default on). */
  readonly offlineTimers?: boolean;
  /** Users taken offline per sweep at most (default 500). */
  readonly sweepBatch?: number;
  /** Appends retried after losing a race to another node (default 5). */
  readonly maxAttempts?: number;
  readonly fanOut?: Omit<PresenceFanOutOptions, 'log'>;
  readonly log?: PresenceLog;
}

const MEMBER_ID = /^[!-;=?-~]{1,128}$/;
const CONNECTION_ID = /^[!-~]{1,128}$/;

interface Loaded extends LoadedState<PresenceState> {
  readonly observed: ConnectionObservation;
  /** When the observation was made, and the lease horizon it was made against. */
  readonly at: Date;
  readonly liveAfter: Date;
}

interface Decided extends Loaded {
  /** True when the decision wrote an event. */
  readonly appended: boolean;
}

const keyOf = (s: Pick<ConnectionSubject, 'tenantId' | 'userId'>) =>
  JSON.stringify([s.tenantId, s.userId]);

/**
 * Presence of users and agents (online, away, offline, last seen), derived from their realtime
 * connections on every node and recorded as `PresenceChanged` events in each user's stream
 * (`presence:<tenant>:<user>`) through the ledger. One per process.
 *
 * - Connections live in a table every node shares (PresenceConnections): node B closing a user's
 *   last connection there does not take the user offline while node A holds one. Each node renews
 *   its rows' lease; the rows of a node that died expire, and any node's sweep then takes their
 *   users offline.
 * - Debounced: offline is written only once no connection has been live anywhere for the whole
 *   grace period; a connection that drops and returns within it writes nothing, and a status is
 *   never written twice in a row (the pure `presenceDecider` decides). Nodes racing on one user
 *   are serialised by the stream's expected revision, so a change is written once.
 * - Visibility: a user or agent sees the presence of those they share a conversation with, and
 *   their own; anyone else's is PresenceNotVisibleError, whether or not that user exists. A
 *   service (API key) with `presence.read` sees every presence of its tenant, as it reads every
 *   conversation of its tenant. Every read needs `presence.read` (denials are recorded).
 * - Services have no presence: their connections are passed over, as are those of principals
 *   whose roles do not grant `presence.write`.
 */
export class PresenceService {
  private readonly fanOut: PresenceFanOut;
  private readonly log: PresenceLog;
  private readonly sweepIntervalMs: number;
  private readonly maxAttempts: number;
  /** This node's open connections, by connection id. */
  private readonly local = new Map<string, ConnectionSubject>();
  /** Those of them whose row is being written: the sweep leaves them to their own open. */
  private readonly opening = new Set<string>();
  /** Users whose reconciliation failed here; the next sweep tries again. */
  private readonly retry = new Map<string, ConnectionSubject>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Decisions under way, which `stop` lets finish. */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly runner: CommandRunner;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly access: Pick<AccessPolicy, 'check' | 'allows'>,
    private readonly ledger: Pick<Ledger, 'append' | 'readStream' | 'subscribe'>,
    store: Pick<EventStore, 'headPosition'>,
    private readonly connections: PresenceConnections,
    private readonly memberships: PresenceMemberships,
    private readonly options: PresenceServiceOptions,
  ) {
    this.log = options.log ?? SILENT_PRESENCE_LOG;
    this.sweepIntervalMs =
      options.sweepIntervalMs ?? Math.max(100, Math.floor(options.connectionLeaseMs / 3));
    this.maxAttempts = options.maxAttempts ?? 5;
    // Presence decisions are the system's own: the runner's access step is never used for them.
    this.runner = new CommandRunner(ledger, access, {
      ids: options.ids,
      maxAttempts: this.maxAttempts,
    });
    this.fanOut = new PresenceFanOut(ledger, store, memberships, {
      ...options.fanOut,
      log: this.log,
    });
  }

  /**
   * Closes the rows an earlier process left under this node id, then starts the periodic sweep
   * and the subscription that feeds `watch`.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.connections.closeNode(this.options.nodeId, 'last_renewal');
    if (this.sweepIntervalMs > 0) {
      this.sweeper = setInterval(() => void this.sweep(), this.sweepIntervalMs);
      this.sweeper.unref();
    }
    this.fanOut.start();
  }

  /**
   * Stops sweeping, timers and the subscription, and closes this node's remaining connections, so
   * that other nodes take their users offline after the grace period (unless they reconnect).
   */
  async stop(): Promise<void> {
    this.started = false;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.sweeping;
    await this.fanOut.stop();
    await Promise.allSettled([...this.inflight]);
    this.local.clear();
    try {
      await this.connections.closeNode(this.options.nodeId, this.options.clock.now());
    } catch (error) {
      // Their leases expire instead; other nodes take the users offline a little later.
      this.log.warn({
        msg: 'presence connections not closed at shutdown',
        ...describeError(error),
      });
    }
  }

  /** Resolves once `watch` receives changes; PresenceEventsUnavailableError after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<void> {
    return this.fanOut.whenLive(timeoutMs);
  }

  /** A realtime connection of this principal opened (user/agent; services have no presence). */
  async connectionOpened(principal: Principal, connectionId: string): Promise<void> {
    assertConnectionId(connectionId);
    if (!this.hasPresence(principal)) return;
    const subject = subjectOf(principal);
    this.local.set(connectionId, subject);
    this.opening.add(connectionId);
    try {
      await this.connections.open(
        { nodeId: this.options.nodeId, connectionId },
        subject,
        this.options.clock.now(),
      );
    } catch (error) {
      this.local.delete(connectionId);
      throw error;
    } finally {
      this.opening.delete(connectionId);
    }
    // The row just written is live (its close waits for this open), so the decision needs no
    // look at the table: online unless already online or away.
    await this.reconcileOrRetry(subject, { liveHere: true });
  }

  /** It closed; the user goes offline only after the grace period if no connection on any node remains. */
  async connectionClosed(principal: Principal, connectionId: string): Promise<void> {
    assertConnectionId(connectionId);
    const known = this.local.get(connectionId);
    this.local.delete(connectionId);
    if (!known && !this.hasPresence(principal)) return;
    const subject = await this.connections.close(
      { nodeId: this.options.nodeId, connectionId },
      this.options.clock.now(),
    );
    if (!subject) return; // never opened here: nothing changed
    await this.reconcileOrRetry(subject);
  }

  /** The client says it is away/back (status 'online' | 'away'). Needs a live connection. */
  async setStatus(principal: Principal, status: 'online' | 'away'): Promise<void> {
    if (status !== 'online' && status !== 'away') {
      throw new InvalidPresenceInput('status', 'invalid_value');
    }
    if (principal.kind === 'service') throw new PresenceRefused(PresenceRefusalReason.NoPresence);
    await this.access.check(principal, 'presence.write', {
      tenantId: principal.tenantId,
      type: 'presence',
      id: principal.id,
    });
    const subject = subjectOf(principal);
    await this.decideAndAppend(subject, (observed, at) => ({
      type: 'SetPresenceStatus',
      data: { ...subject, status, liveConnections: observed.liveConnections, at },
    }));
    this.cancelTimer(subject);
  }

  /** Visibility-checked: throws a typed error (not-visible) when the viewer shares no conversation with the user. */
  async presenceOf(viewer: Principal, userId: string): Promise<PresenceView> {
    if (typeof userId !== 'string' || !MEMBER_ID.test(userId)) {
      throw new InvalidPresenceInput('userId', 'invalid_format');
    }
    await this.access.check(viewer, 'presence.read', {
      tenantId: viewer.tenantId,
      type: 'presence',
      id: userId,
    });
    if (!(await this.canSee(viewer, userId))) throw new PresenceNotVisibleError(userId);
    const current = await this.current(presenceStreamId(viewer.tenantId, userId));
    return presenceView(userId, current.state, current.position);
  }

  /** The check `watch` makes, recorded when denied: edges call it before `watch`. */
  async authorizeWatch(viewer: Principal): Promise<void> {
    await this.access.check(viewer, 'presence.read', {
      tenantId: viewer.tenantId,
      type: 'presence',
    });
  }

  /**
   * Changes of users visible to the viewer, from every node (via the event store subscription).
   * Returns unsubscribe. A viewer without `presence.read` sees no one: nothing is registered (edges
   * that must refuse such a subscription, recorded, call `authorizeWatch` first).
   */
  watch(viewer: Principal, onChange: (change: PresenceChange) => void): () => void {
    if (!this.access.allows(viewer, 'presence.read', { tenantId: viewer.tenantId })) {
      return () => undefined;
    }
    this.fanOut.start();
    return this.fanOut.register(viewer, onChange);
  }

  /**
   * Renews this node's connection leases (restoring any another node took for expired), retries
   * failed reconciliations, and takes offline every user whose grace period has run out with no
   * live connection anywhere. Runs every `sweepIntervalMs`; callable by hand.
   */
  sweep(): Promise<void> {
    this.sweeping ??= this.runSweep().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async runSweep(): Promise<void> {
    try {
      const now = this.options.clock.now();
      // Rows still being written are not the renewal's to find (their open renews them): taking
      // them for lost re-opened and reconciled every connection that arrived during a sweep.
      const written = [...this.local].filter(([connectionId]) => !this.opening.has(connectionId));
      const renewed = await this.connections.renew(this.options.nodeId, now);
      const again = new Map(this.retry);
      this.retry.clear();
      for (const [connectionId, subject] of written) {
        if (renewed.has(connectionId) || !this.local.has(connectionId)) continue;
        // Taken for a dead node's (this process stalled past its lease): live again.
        await this.connections.open({ nodeId: this.options.nodeId, connectionId }, subject, now);
        again.set(keyOf(subject), subject);
      }
      for (const subject of again.values()) await this.reconcileOrRetry(subject);
      const due = await this.connections.dueForOffline(
        new Date(now.getTime() - this.options.connectionLeaseMs),
        new Date(now.getTime() - this.options.graceMs),
        this.options.sweepBatch ?? 500,
      );
      for (const subject of due) await this.reconcileOrRetry(subject);
    } catch (error) {
      this.log.warn({ msg: 'presence sweep failed; next one retries', ...describeError(error) });
    }
  }

  // ---- deciding ---------------------------------------------------------------------------------

  private async reconcileOrRetry(
    subject: ConnectionSubject,
    known: { liveHere?: boolean } = {},
  ): Promise<void> {
    try {
      await this.reconcile(subject, known);
    } catch (error) {
      this.retry.set(keyOf(subject), subject);
      throw error;
    }
  }

  /** Brings the user's stream in line with their connections; schedules the offline check. */
  private async reconcile(
    subject: ConnectionSubject,
    known: { liveHere?: boolean },
  ): Promise<void> {
    const graceMs = this.options.graceMs;
    const outcome = await this.decideAndAppend(
      subject,
      (observed, at) => ({
        type: 'ReconcilePresence',
        data: { ...subject, ...observed, at, graceMs },
      }),
      known,
    );
    this.schedule(
      subject,
      offlineDueAt(outcome.state, { ...outcome.observed, at: outcome.at, graceMs }),
    );
  }

  /**
   * Observe, load, decide, append at the loaded revision (the command runner; again when another
   * node appended first). After writing offline, the user's stale rows go, and it looks once more:
   * a connection that opened meanwhile on another node brings the user straight back online.
   */
  private async decideAndAppend(
    subject: ConnectionSubject,
    commandOf: (observed: ConnectionObservation, at: Date) => PresenceCommand,
    known: { liveHere?: boolean } = {},
  ): Promise<{ state: PresenceState; observed: ConnectionObservation; at: Date }> {
    const decision = (async () => {
      for (let round = 1; round <= this.maxAttempts; round++) {
        const outcome = await this.runner.run(
          this.handler(commandOf),
          this.loader(subject, known),
          subject,
        );
        const { state, observed, at, liveAfter } = outcome;
        if (!outcome.appended) {
          if (
            state.status === 'offline' &&
            observed.liveConnections === 0 &&
            observed.lastConnectedAt !== undefined
          ) {
            // Offline already (an earlier cleanup failed): the rows say nothing any more.
            await this.connections.forget(
              subject.tenantId,
              subject.userId,
              liveAfter,
              observed.lastConnectedAt,
            );
          }
          return { state, observed, at };
        }
        if (state.status !== 'offline') return { state, observed, at };
        await this.connections.forget(
          subject.tenantId,
          subject.userId,
          liveAfter,
          state.lastSeenAt ?? at,
        );
      }
      throw new PresenceBusyError(this.maxAttempts);
    })();
    this.inflight.add(decision);
    try {
      return await decision;
    } finally {
      this.inflight.delete(decision);
    }
  }

  /** The presence decision as the command runner takes it: system-issued, no access step. */
  private handler(
    commandOf: (observed: ConnectionObservation, at: Date) => PresenceCommand,
  ): CommandHandler<ConnectionSubject, PresenceState, Loaded, PresenceEvent, Decided> {
    return {
      target: (subject) => ({
        tenantId: subject.tenantId,
        streamId: presenceStreamId(subject.tenantId, subject.userId),
      }),
      decide: (_subject, loaded) =>
        decidePresence(commandOf(loaded.observed, loaded.at), loaded.state),
      encode: (event, eventId) => encodePresenceEvent(event, eventId),
      unchanged: (_subject, loaded) => ({ ...loaded, appended: false }),
      appended: (_subject, loaded, { events }) => ({
        ...loaded,
        state: events.reduce(evolvePresence, loaded.state),
        appended: true,
      }),
      busy: (_streamId, attempts) => new PresenceBusyError(attempts),
    };
  }

  /**
   * The user's state (their stream's last event: offline when there is none, or it was shredded)
   * together with what the connection table says now: both are read for every decision, but the
   * table not for one made as a connection of this node opened (it is live, which settles it).
   */
  private loader(
    subject: ConnectionSubject,
    known: { liveHere?: boolean },
  ): StateLoader<PresenceState, Loaded> {
    return {
      load: async (tenantId, streamId) => {
        const at = this.options.clock.now();
        const liveAfter = new Date(at.getTime() - this.options.connectionLeaseMs);
        // A live connection of this node decides alone: with one, the count and the last-seen
        // time of the others change nothing (decidePresence, offlineDueAt).
        const observed = known.liveHere
          ? { liveConnections: 1, lastConnectedAt: undefined }
          : await this.connections.observe(tenantId, subject.userId, liveAfter);
        const { state, revision } = await this.current(streamId);
        return { streamId, state, revision, observed, at, liveAfter };
      },
      forget: () => undefined,
    };
  }

  /** The user's state: their stream's last event (offline when there is none, or it was shredded). */
  private async current(
    streamId: string,
  ): Promise<{ state: PresenceState; revision: bigint; position: GlobalPosition | undefined }> {
    const [last] = await this.ledger.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    if (!last) return { state: initialPresenceState(), revision: -1n, position: undefined };
    const event = openPresenceEvent(last);
    return {
      state: event ? evolvePresence(initialPresenceState(), event) : initialPresenceState(),
      revision: last.revision,
      position: last.position,
    };
  }

  private schedule(subject: ConnectionSubject, due: Date | undefined): void {
    this.cancelTimer(subject);
    if (due === undefined || !this.started || this.options.offlineTimers === false) return;
    const delay = Math.max(0, due.getTime() - this.options.clock.now().getTime()) + 5;
    const key = keyOf(subject);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.reconcileOrRetry(subject).catch((error: unknown) =>
        this.log.warn({
          msg: 'presence offline check failed; the sweep retries',
          ...describeError(error),
        }),
      );
    }, delay);
    timer.unref();
    this.timers.set(key, timer);
  }

  private cancelTimer(subject: ConnectionSubject): void {
    const key = keyOf(subject);
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
  }

  // ---- who ----------------------------------------------------------------------------------------

  private hasPresence(principal: Principal): boolean {
    return (
      principal.kind !== 'service' &&
      this.access.allows(principal, 'presence.write', { tenantId: principal.tenantId })
    );
  }

  private async canSee(viewer: Principal, userId: string): Promise<boolean> {
    if (viewer.kind === 'service') return true;
    if (viewer.id === userId) return true;
    return this.memberships.sharesConversation(viewer.tenantId, viewer.id, userId);
  }
}

function subjectOf(principal: Principal): ConnectionSubject {
  return {
    tenantId: principal.tenantId,
    userId: principal.id,
    userKind: principal.kind === 'agent' ? 'agent' : 'user',
  };
}

function assertConnectionId(connectionId: string): void {
  if (typeof connectionId !== 'string' || !CONNECTION_ID.test(connectionId)) {
    throw new InvalidPresenceInput('connectionId', 'invalid_format');
  }
}
