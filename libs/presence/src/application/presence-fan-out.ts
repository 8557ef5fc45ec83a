import type { EventStore, Subscription } from '@ledgerline/event-store';
import type { Principal } from '@ledgerline/identity';
import { comparePositions, type GlobalPosition } from '@ledgerline/kernel';
import type { Ledger, OpenedEvent } from '@ledgerline/ledger';
import { evolvePresence, initialPresenceState } from '../domain/presence.decider';
import { PRESENCE_STREAM_PREFIX } from '../domain/presence-stream';
import { describeError } from './describe-error';
import { openPresenceEvent } from './presence-events.codec';
import { PresenceEventsUnavailableError } from './presence.errors';
import {
  SILENT_PRESENCE_LOG,
  presenceView,
  type PresenceChange,
  type PresenceLog,
} from './presence-views';

/** Which of `candidates` share a conversation with `userId` (ConversationMemberships has it). */
export interface PresenceAudience {
  sharingWith(
    tenantId: string,
    userId: string,
    candidates: readonly string[],
  ): Promise<ReadonlySet<string>>;
}

export interface PresenceFanOutOptions {
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  readonly log?: PresenceLog;
}

interface Watcher {
  readonly viewer: Principal;
  readonly onChange: (change: PresenceChange) => void;
}

/**
 * Presence changes for watchers, fed by ONE ledger subscription per process over the `presence:`
 * streams, from the end of the log as it was at start: every node runs its own, so a change
 * written on any node reaches the watchers of every node, with no broker.
 *
 * A change of user U in tenant T goes to the watchers of T (never another tenant's) who may see
 * it: U themselves (their other devices), a service (which may read every presence of its tenant),
 * and a user or agent who shares a conversation with U as the conversation read models say when
 * the change passes. Each watcher receives the changes routed after it registered, once each, in
 * `$all` order. A failed subscription restarts from the last event routed: a delay, not a gap.
 */
export class PresenceFanOut {
  private readonly byTenant = new Map<string, Map<number, Watcher>>();
  private readonly restartDelayMs: number;
  private readonly maxRestartDelayMs: number;
  private readonly log: PresenceLog;
  private nextWatcherId = 1;
  private position: GlobalPosition | undefined;
  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private live = false;
  private readonly liveWaiters = new Set<() => void>();
  private interruptSleep: (() => void) | undefined;

  constructor(
    private readonly ledger: Pick<Ledger, 'subscribe'>,
    private readonly store: Pick<EventStore, 'headPosition'>,
    private readonly audience: PresenceAudience,
    options: PresenceFanOutOptions = {},
  ) {
    this.restartDelayMs = options.restartDelayMs ?? 500;
    this.maxRestartDelayMs = options.maxRestartDelayMs ?? 30_000;
    this.log = options.log ?? SILENT_PRESENCE_LOG;
  }

  /** Starts the one subscription (in the background). */
  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interruptSleep?.();
    await this.subscription?.stop();
    await this.loop;
    this.loop = undefined;
  }

  /** Resolves once changes are flowing; PresenceEventsUnavailableError after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<void> {
    if (this.live) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.liveWaiters.delete(ready);
        reject(new PresenceEventsUnavailableError());
      }, timeoutMs);
      this.liveWaiters.add(ready);
    });
  }

  /** Delivers every change routed from now on that `viewer` may see; returns the unregister. */
  register(viewer: Principal, onChange: (change: PresenceChange) => void): () => void {
    const id = this.nextWatcherId++;
    let tenant = this.byTenant.get(viewer.tenantId);
    if (!tenant) {
      tenant = new Map();
      this.byTenant.set(viewer.tenantId, tenant);
    }
    tenant.set(id, { viewer, onChange });
    const watchers = tenant;
    return () => {
      watchers.delete(id);
      if (watchers.size === 0 && this.byTenant.get(viewer.tenantId) === watchers) {
        this.byTenant.delete(viewer.tenantId);
      }
    };
  }

  get watcherCount(): number {
    let n = 0;
    for (const tenant of this.byTenant.values()) n += tenant.size;
    return n;
  }

  private async run(): Promise<void> {
    let delay = this.restartDelayMs;
    while (!this.stopped) {
      try {
        this.position ??= await this.store.headPosition();
        if (this.stopped) return;
        const subscription = this.ledger.subscribe({
          after: this.position,
          filter: { streamPrefixes: [PRESENCE_STREAM_PREFIX] },
          onEvent: (event) => this.onEvent(event),
          onCaughtUp: (position) => this.advance(position),
          onRetry: (error, attempt) =>
            this.log.warn({
              msg: 'presence events read retried',
              attempt,
              ...describeError(error),
            }),
        });
        this.subscription = subscription;
        this.setLive();
        await subscription.done;
        delay = this.restartDelayMs;
      } catch (error) {
        if (this.stopped) return;
        this.log.error({
          msg: 'presence events subscription stopped; restarting',
          retryInMs: delay,
          ...describeError(error),
        });
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.maxRestartDelayMs);
      }
    }
  }

  private async onEvent(opened: OpenedEvent): Promise<void> {
    try {
      await this.route(opened);
    } catch (error) {
      // A throw would end the subscription for every watcher; this change is passed over instead.
      this.log.error({
        msg: 'presence change not delivered',
        eventId: opened.eventId,
        ...describeError(error),
      });
    }
    this.advance(opened.position);
  }

  private async route(opened: OpenedEvent): Promise<void> {
    const watchers = this.byTenant.get(opened.tenantId);
    if (!watchers?.size) return; // nobody to tell: not even decrypted
    const event = openPresenceEvent(opened);
    if (!event || event.data.tenantId !== opened.tenantId) return;
    const { userId } = event.data;
    const change: PresenceChange = {
      tenantId: opened.tenantId,
      ...presenceView(userId, evolvePresence(initialPresenceState(), event), opened.position),
    };
    const targets = [...watchers.values()];
    const others = targets
      .filter((w) => w.viewer.kind !== 'service' && w.viewer.id !== userId)
      .map((w) => w.viewer.id);
    const sharing =
      others.length === 0
        ? new Set<string>()
        : await this.audience.sharingWith(opened.tenantId, userId, others);
    for (const w of targets) {
      const allowed =
        w.viewer.kind === 'service' || w.viewer.id === userId || sharing.has(w.viewer.id);
      if (!allowed) continue;
      try {
        w.onChange(change);
      } catch (error) {
        this.log.warn({ msg: 'presence watcher threw', ...describeError(error) });
      }
    }
  }

  private advance(position: GlobalPosition): void {
    if (this.position === undefined || comparePositions(position, this.position) > 0) {
      this.position = position;
    }
  }

  private setLive(): void {
    if (this.live) return;
    this.live = true;
    for (const ready of this.liveWaiters) ready();
    this.liveWaiters.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.interruptSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interruptSleep = done;
    });
  }
}
