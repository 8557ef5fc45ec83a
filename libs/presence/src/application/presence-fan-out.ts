import type { EventStore } from '@ledgerline/event-store';
import type { Principal } from '@ledgerline/identity';
import { describeError } from '@ledgerline/kernel';
import { LiveLedgerFeed, type Ledger, type OpenedEvent } from '@ledgerline/ledger';
import { evolvePresence, initialPresenceState } from '../domain/presence.decider';
import { PRESENCE_STREAM_PREFIX } from '../domain/presence-stream';
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
  private readonly log: PresenceLog;
  private readonly feed: LiveLedgerFeed;
  private nextWatcherId = 1;

  constructor(
    ledger: Pick<Ledger, 'subscribe'>,
    store: Pick<EventStore, 'headPosition'>,
    private readonly audience: PresenceAudience,
    options: PresenceFanOutOptions = {},
  ) {
    this.log = options.log ?? SILENT_PRESENCE_LOG;
    this.feed = new LiveLedgerFeed(ledger, store, {
      streamPrefix: PRESENCE_STREAM_PREFIX,
      name: 'presence events',
      onEvent: (event) => this.route(event),
      unavailable: () => new PresenceEventsUnavailableError(),
      log: this.log,
      ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }),
      ...(options.maxRestartDelayMs === undefined
        ? {}
        : { maxRestartDelayMs: options.maxRestartDelayMs }),
    });
  }

  /** Starts the one subscription (in the background). */
  start(): void {
    this.feed.start();
  }

  stop(): Promise<void> {
    return this.feed.stop();
  }

  /** Resolves once changes are flowing; PresenceEventsUnavailableError after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<void> {
    return this.feed.whenLive(timeoutMs);
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
}
