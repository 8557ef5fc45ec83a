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

/** Who shares a conversation with `userId` (ConversationMemberships has it). */
export interface PresenceAudience {
  /** Which of `candidates` share a conversation with `userId`. */
  sharingWith(
    tenantId: string,
    userId: string,
    candidates: readonly string[],
  ): Promise<ReadonlySet<string>>;
  /** Everyone who shares a conversation with `userId`. */
  contactsOf(tenantId: string, userId: string): Promise<ReadonlySet<string>>;
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

/** A tenant's watchers: services (who see everyone) apart, the others by viewer id. */
interface TenantWatchers {
  readonly services: Map<number, Watcher>;
  readonly byViewer: Map<string, Map<number, Watcher>>;
}

/**
 * Up to this many viewers (besides the user and services), a change asks which of them share a
 * conversation with the user; above it, whom the user shares one with, so that neither the query
 * nor the routing grows with every connection of the tenant.
 */
const CANDIDATES_AT_MOST = 64;

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
  private readonly byTenant = new Map<string, TenantWatchers>();
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
      tenant = { services: new Map(), byViewer: new Map() };
      this.byTenant.set(viewer.tenantId, tenant);
    }
    let group: Map<number, Watcher>;
    if (viewer.kind === 'service') {
      group = tenant.services;
    } else {
      group = tenant.byViewer.get(viewer.id) ?? new Map<number, Watcher>();
      tenant.byViewer.set(viewer.id, group);
    }
    group.set(id, { viewer, onChange });
    const watchers = tenant;
    return () => {
      group.delete(id);
      if (group.size === 0 && group !== watchers.services) {
        if (watchers.byViewer.get(viewer.id) === group) watchers.byViewer.delete(viewer.id);
      }
      if (
        watchers.services.size === 0 &&
        watchers.byViewer.size === 0 &&
        this.byTenant.get(viewer.tenantId) === watchers
      ) {
        this.byTenant.delete(viewer.tenantId);
      }
    };
  }

  get watcherCount(): number {
    let n = 0;
    for (const tenant of this.byTenant.values()) {
      n += tenant.services.size;
      for (const group of tenant.byViewer.values()) n += group.size;
    }
    return n;
  }

  private async route(opened: OpenedEvent): Promise<void> {
    const watchers = this.byTenant.get(opened.tenantId);
    if (!watchers) return; // nobody to tell: not even decrypted
    const event = openPresenceEvent(opened);
    if (!event || event.data.tenantId !== opened.tenantId) return;
    const { userId } = event.data;
    const change: PresenceChange = {
      tenantId: opened.tenantId,
      ...presenceView(userId, evolvePresence(initialPresenceState(), event), opened.position),
    };
    const targets: Watcher[] = [...watchers.services.values()];
    for (const w of watchers.byViewer.get(userId)?.values() ?? []) targets.push(w);
    for (const viewerId of await this.sharing(opened.tenantId, userId, watchers.byViewer)) {
      for (const w of watchers.byViewer.get(viewerId)?.values() ?? []) targets.push(w);
    }
    for (const w of targets) {
      try {
        w.onChange(change);
      } catch (error) {
        this.log.warn({ msg: 'presence watcher threw', ...describeError(error) });
      }
    }
  }

  /** The viewers other than `userId` who share a conversation with them: one query at most. */
  private async sharing(
    tenantId: string,
    userId: string,
    byViewer: ReadonlyMap<string, unknown>,
  ): Promise<string[]> {
    const others = byViewer.size - (byViewer.has(userId) ? 1 : 0);
    if (others === 0) return [];
    if (others <= CANDIDATES_AT_MOST) {
      const candidates = [...byViewer.keys()].filter((id) => id !== userId);
      const sharing = await this.audience.sharingWith(tenantId, userId, candidates);
      return candidates.filter((id) => sharing.has(id));
    }
    const contacts = await this.audience.contactsOf(tenantId, userId);
    // Watchers registered while the query ran are looked up now: they see this change too.
    return [...contacts].filter((id) => id !== userId && byViewer.has(id));
  }
}
