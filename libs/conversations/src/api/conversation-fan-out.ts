import { LRUCache } from 'lru-cache';
import type { EventStore } from '@ledgerline/event-store';
import type { Principal } from '@ledgerline/identity';
import { UnavailableError, describeError, type GlobalPosition } from '@ledgerline/kernel';
import { LiveLedgerFeed, type Ledger, type OpenedEvent } from '@ledgerline/ledger';
import { openConversationEvent } from '../application/conversation-events.codec';
import type { ConversationEvent } from '../domain/conversation.events';
import { CONVERSATION_STREAM_CATEGORY, parseConversationStreamId } from '../domain/stream-ids';

/** A conversation event on its way to subscribers: decoded, with where it sits in `$all`. */
export interface LiveConversationEvent {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly eventId: string;
  readonly position: GlobalPosition;
  /** Its revision in the conversation's stream. */
  readonly revision: bigint;
  readonly event: ConversationEvent;
  /** When it was appended (metrics: append-to-deliver). */
  readonly recordedAt?: Date;
}

/**
 * The members (user and agent ids) of a conversation, as of (at least) a position. `undefined`
 * when that cannot be known now (read models behind, database down): the fan-out then delivers
 * that event to nobody but services and the members it names, and asks again for the next one.
 */
export interface MembershipSource {
  membersOf(
    tenantId: string,
    conversationId: string,
    at: GlobalPosition,
  ): Promise<ReadonlySet<string> | undefined>;
}

/** Where the fan-out reports trouble: ids, positions and error codes only, never an event. */
export interface FanOutLog {
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

export interface ConversationFanOutOptions {
  /** Conversations whose member lists are remembered. */
  readonly membershipCacheSize?: number;
  /** How long a remembered member list is trusted without events confirming it. */
  readonly membershipTtlMs?: number;
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  readonly log?: FanOutLog;
}

/** No subscriber receives live events before the fan-out has found the end of the log. */
export class ConversationEventsUnavailableError extends UnavailableError {
  override readonly code = 'conversation_events_unavailable';
  constructor() {
    super('live conversation events are not available yet; subscribe again shortly');
  }
}

interface Subscriber {
  readonly principal: Principal;
  readonly conversationId: string | undefined;
  readonly push: (event: LiveConversationEvent) => void;
}

/** A tenant's subscribers: services (who see every conversation), and the others by member id. */
interface TenantSubscribers {
  readonly services: Map<number, Subscriber>;
  readonly byMember: Map<string, Map<number, Subscriber>>;
}

interface MembershipChange {
  readonly added: ReadonlySet<string>;
  readonly removed: ReadonlySet<string>;
}

const STREAM_PREFIX = `${CONVERSATION_STREAM_CATEGORY}:`;
const NO_CHANGE: MembershipChange = { added: new Set(), removed: new Set() };
const MEMBERSHIP_EVENTS: ReadonlySet<string> = new Set<ConversationEvent['type']>([
  'DirectConversationCreated',
  'GroupConversationCreated',
  'MemberAdded',
  'MemberRemoved',
  'MemberLeft',
]);
const SILENT: FanOutLog = { warn: () => undefined, error: () => undefined };

/**
 * Live conversation events for GraphQL subscribers, fed by ONE ledger subscription per process
 * over the `conversation:` streams, from the end of the log as it was at start: every node runs
 * its own, so fan-out across nodes needs no broker.
 *
 * Each event is decoded once and handed, in `$all` order, to the subscribers of its tenant (never
 * another's) who may see it:
 * - a user or agent who is a member of the conversation. Each conversation's member list is
 *   remembered, kept current by the membership events themselves (creation, added, removed, left)
 *   as they pass; one not yet known is asked of the read models once they have reached the event
 *   (MembershipSource). Subscribers are indexed by member id, so routing an event costs its
 *   conversation's members, not the tenant's connections. A member who is removed or leaves still
 *   receives that event — it is how they learn — and nothing after it; one who is added receives
 *   their MemberAdded.
 * - a service (never a member), for every conversation of its tenant, as its reads allow.
 *
 * A subscriber receives the events routed after it registered, each once. An event whose data
 * key was shredded is not delivered (there is nothing left to show).
 *
 * It starts at the event store's head position (the last committed event), so a restart neither
 * replays history nor decrypts it. A failed subscription restarts from the last
 * event routed: subscribers see a delay, not a gap.
 */
export class ConversationFanOut {
  private readonly byTenant = new Map<string, TenantSubscribers>();
  /** Member ids per conversation (`tenant\u0000conversation`), kept current by membership events. */
  private readonly memberships: LRUCache<string, Set<string>>;
  private readonly log: FanOutLog;
  private readonly feed: LiveLedgerFeed;
  private nextSubscriberId = 1;

  constructor(
    ledger: Pick<Ledger, 'subscribe'>,
    store: Pick<EventStore, 'headPosition'>,
    private readonly members: MembershipSource,
    options: ConversationFanOutOptions = {},
  ) {
    this.memberships = new LRUCache({
      max: options.membershipCacheSize ?? 10_000,
      ttl: options.membershipTtlMs ?? 3_600_000,
    });
    this.log = options.log ?? SILENT;
    this.feed = new LiveLedgerFeed(ledger, store, {
      streamPrefix: STREAM_PREFIX,
      name: 'conversation events',
      onEvent: (event) => this.route(event),
      unavailable: () => new ConversationEventsUnavailableError(),
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

  /** Stops the subscription, letting the event in hand finish. */
  stop(): Promise<void> {
    return this.feed.stop();
  }

  /** Resolves once events are flowing; ConversationEventsUnavailableError after `timeoutMs`. */
  whenLive(timeoutMs: number): Promise<void> {
    return this.feed.whenLive(timeoutMs);
  }

  /**
   * Delivers to `push` every event routed from now on that `principal` may see (only those of
   * `conversationId`, when given). Returns the function that unregisters.
   */
  register(
    principal: Principal,
    filter: { readonly conversationId?: string },
    push: (event: LiveConversationEvent) => void,
  ): () => void {
    const id = this.nextSubscriberId++;
    let tenant = this.byTenant.get(principal.tenantId);
    if (!tenant) {
      tenant = { services: new Map(), byMember: new Map() };
      this.byTenant.set(principal.tenantId, tenant);
    }
    const subscriber: Subscriber = { principal, conversationId: filter.conversationId, push };
    let own: Map<number, Subscriber>;
    if (principal.kind === 'service') {
      own = tenant.services;
    } else {
      own = tenant.byMember.get(principal.id) ?? new Map<number, Subscriber>();
      tenant.byMember.set(principal.id, own);
    }
    own.set(id, subscriber);
    const subscribers = tenant;
    return () => {
      own.delete(id);
      if (own.size === 0 && principal.kind !== 'service') {
        if (subscribers.byMember.get(principal.id) === own)
          subscribers.byMember.delete(principal.id);
      }
      if (
        subscribers.services.size === 0 &&
        subscribers.byMember.size === 0 &&
        this.byTenant.get(principal.tenantId) === subscribers
      ) {
        this.byTenant.delete(principal.tenantId);
      }
    };
  }

  /** Subscribers registered now (for metrics and tests). */
  get subscriberCount(): number {
    let n = 0;
    for (const tenant of this.byTenant.values()) {
      n += tenant.services.size;
      for (const own of tenant.byMember.values()) n += own.size;
    }
    return n;
  }

  // ---- routing ---------------------------------------------------------------------------------

  private async route(opened: OpenedEvent): Promise<void> {
    const where = parseConversationStreamId(opened.streamId);
    if (!where || where.tenantId !== opened.tenantId) return;
    const subscribers = this.byTenant.get(where.tenantId);
    const key = conversationKey(where.tenantId, where.conversationId);
    // Nobody to tell, and no member list to follow: not even decoded.
    if (!subscribers && !(MEMBERSHIP_EVENTS.has(opened.type) && this.memberships.has(key))) return;
    const event = openConversationEvent(opened);
    if (!event) return; // shredded
    const change = membershipChange(event);
    if (subscribers) {
      const live: LiveConversationEvent = {
        tenantId: where.tenantId,
        conversationId: where.conversationId,
        eventId: opened.eventId,
        position: opened.position,
        revision: opened.revision,
        event,
        recordedAt: opened.recordedAt,
      };
      const deliver = (own: ReadonlyMap<number, Subscriber> | undefined) => {
        for (const s of own?.values() ?? []) {
          if (s.conversationId === undefined || s.conversationId === where.conversationId) {
            s.push(live);
          }
        }
      };
      deliver(subscribers.services);
      // A member removed or leaving gets that event (it is how they learn) and nothing after it;
      // one added gets their MemberAdded.
      const members =
        subscribers.byMember.size === 0
          ? undefined
          : await this.membersAt(where.tenantId, where.conversationId, event, opened.position);
      const recipients = new Set([...(members ?? []), ...change.added, ...change.removed]);
      for (const memberId of recipients) deliver(subscribers.byMember.get(memberId));
    }
    const known = this.memberships.get(key);
    if (known) {
      for (const id of change.added) known.add(id);
      for (const id of change.removed) known.delete(id);
    }
  }

  /** The conversation's members before this event: remembered, or asked of the read models. */
  private async membersAt(
    tenantId: string,
    conversationId: string,
    event: ConversationEvent,
    position: GlobalPosition,
  ): Promise<ReadonlySet<string> | undefined> {
    const key = conversationKey(tenantId, conversationId);
    const known = this.memberships.get(key);
    if (known) return known;
    if (event.type === 'DirectConversationCreated' || event.type === 'GroupConversationCreated') {
      // Nobody was a member before; the creation names everyone (remembered after delivery).
      const created = new Set<string>();
      this.memberships.set(key, created);
      return created;
    }
    let members: ReadonlySet<string> | undefined;
    try {
      members = await this.members.membersOf(tenantId, conversationId, position);
    } catch (error) {
      this.log.warn({ msg: 'membership not known', conversationId, ...describeError(error) });
    }
    if (members === undefined) return undefined; // not known now: asked again next time
    // The read models include this event: undo its own change to get the members before it.
    const before = new Set(members);
    const change = membershipChange(event);
    for (const id of change.added) before.delete(id);
    for (const id of change.removed) before.add(id);
    this.memberships.set(key, before);
    return before;
  }
}

/** Who becomes (or stops being) a member through this event. */
function membershipChange(event: ConversationEvent): MembershipChange {
  switch (event.type) {
    case 'DirectConversationCreated':
    case 'GroupConversationCreated':
      return { added: new Set(event.data.members.map((m) => m.id)), removed: new Set() };
    case 'MemberAdded':
      return { added: new Set([event.data.member.id]), removed: new Set() };
    case 'MemberRemoved':
    case 'MemberLeft':
      return { added: new Set(), removed: new Set([event.data.memberId]) };
    default:
      return NO_CHANGE;
  }
}

function conversationKey(tenantId: string, conversationId: string): string {
  return `${tenantId}\u0000${conversationId}`;
}
