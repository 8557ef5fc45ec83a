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
}

/**
 * Whether a user or agent is a member of a conversation, as of (at least) a position. `undefined`
 * when that cannot be known now (read models behind, database down): the fan-out then delivers
 * nothing to them for that event, and asks again for the next one.
 */
export interface MembershipSource {
  isMember(
    principal: Principal,
    conversationId: string,
    at: GlobalPosition,
  ): Promise<boolean | undefined>;
  /**
   * The ids among `principals` (one tenant's users and agents) who are members, in one question;
   * undefined when that cannot be known now. Optional: without it, `isMember` is asked per
   * principal (for a conversation many connected users are not in, that is one query each).
   */
  membersAmong?(
    principals: readonly Principal[],
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
  /** Memberships (member × conversation) remembered. */
  readonly membershipCacheSize?: number;
  /** How long a remembered membership is trusted without events confirming it. */
  readonly membershipTtlMs?: number;
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  readonly now?: () => number;
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
 * - a user or agent who is a member of the conversation. Memberships are remembered per member
 *   and conversation, kept current by the membership events themselves (creation, added, removed,
 *   left) as they pass; one not yet known is asked of the read models once they have reached the
 *   event (MembershipSource). A member who is removed or leaves still receives that event — it is
 *   how they learn — and nothing after it; one who is added receives their MemberAdded.
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
  private readonly byTenant = new Map<string, Map<number, Subscriber>>();
  private readonly memberships: LRUCache<string, boolean>;
  private readonly now: () => number;
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
      max: options.membershipCacheSize ?? 100_000,
      ttl: options.membershipTtlMs ?? 3_600_000,
    });
    this.now = options.now ?? Date.now;
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
      tenant = new Map();
      this.byTenant.set(principal.tenantId, tenant);
    }
    tenant.set(id, { principal, conversationId: filter.conversationId, push });
    const subscribers = tenant;
    return () => {
      subscribers.delete(id);
      if (subscribers.size === 0 && this.byTenant.get(principal.tenantId) === subscribers) {
        this.byTenant.delete(principal.tenantId);
      }
    };
  }

  /** Subscribers registered now (for metrics and tests). */
  get subscriberCount(): number {
    let n = 0;
    for (const tenant of this.byTenant.values()) n += tenant.size;
    return n;
  }

  // ---- routing ---------------------------------------------------------------------------------

  private async route(opened: OpenedEvent): Promise<void> {
    const where = parseConversationStreamId(opened.streamId);
    if (!where || where.tenantId !== opened.tenantId) return;
    const subscribers = this.byTenant.get(where.tenantId);
    // Nobody to tell, and no membership to follow: not even decoded.
    if (!subscribers?.size && !MEMBERSHIP_EVENTS.has(opened.type)) return;
    const event = openConversationEvent(opened);
    if (!event) return; // shredded
    const change = membershipChange(event);
    if (subscribers && subscribers.size > 0) {
      const targets = [...subscribers.values()].filter(
        (s) => s.conversationId === undefined || s.conversationId === where.conversationId,
      );
      const allowed = await this.allowedMembers(
        where.tenantId,
        where.conversationId,
        targets,
        change,
        opened.position,
      );
      const live: LiveConversationEvent = {
        tenantId: where.tenantId,
        conversationId: where.conversationId,
        eventId: opened.eventId,
        position: opened.position,
        revision: opened.revision,
        event,
      };
      for (const s of targets) {
        if (s.principal.kind === 'service' || allowed.has(s.principal.id)) s.push(live);
      }
    }
    // After delivery: a removed member got their removal, and nothing from now on.
    for (const id of change.added) {
      this.memberships.set(membershipKey(where.tenantId, id, where.conversationId), true);
    }
    for (const id of change.removed) {
      this.memberships.set(membershipKey(where.tenantId, id, where.conversationId), false);
    }
  }

  /** The member ids among `targets` who may see an event of the conversation at `position`. */
  private async allowedMembers(
    tenantId: string,
    conversationId: string,
    targets: readonly Subscriber[],
    change: MembershipChange,
    position: GlobalPosition,
  ): Promise<Set<string>> {
    const byMember = new Map<string, Principal>();
    for (const s of targets) {
      if (s.principal.kind !== 'service') byMember.set(s.principal.id, s.principal);
    }
    const allowed = new Set<string>();
    const unknown: Principal[] = [];
    for (const [memberId, principal] of byMember) {
      if (change.added.has(memberId) || change.removed.has(memberId)) {
        allowed.add(memberId);
        continue;
      }
      const known = this.memberships.get(membershipKey(tenantId, memberId, conversationId));
      if (known === true) allowed.add(memberId);
      else if (known === undefined) unknown.push(principal);
    }
    if (unknown.length > 1 && this.members.membersAmong) {
      for (const id of await this.membersAmong(tenantId, conversationId, unknown, position)) {
        allowed.add(id);
      }
      return allowed;
    }
    await Promise.all(
      unknown.map(async (principal) => {
        if (await this.isMember(tenantId, conversationId, principal, position)) {
          allowed.add(principal.id);
        }
      }),
    );
    return allowed;
  }

  /** Asks about many principals at once; remembers the answer for each of them. */
  private async membersAmong(
    tenantId: string,
    conversationId: string,
    principals: readonly Principal[],
    position: GlobalPosition,
  ): Promise<ReadonlySet<string>> {
    let members: ReadonlySet<string> | undefined;
    try {
      members = await this.members.membersAmong!(principals, conversationId, position);
    } catch (error) {
      this.log.warn({ msg: 'membership not known', conversationId, ...describeError(error) });
      members = undefined;
    }
    if (members === undefined) return new Set(); // not known now: asked again next time
    for (const principal of principals) {
      this.memberships.set(
        membershipKey(tenantId, principal.id, conversationId),
        members.has(principal.id),
      );
    }
    return members;
  }

  private async isMember(
    tenantId: string,
    conversationId: string,
    principal: Principal,
    position: GlobalPosition,
  ): Promise<boolean> {
    const key = membershipKey(tenantId, principal.id, conversationId);
    const known = this.memberships.get(key);
    if (known !== undefined) return known;
    let member: boolean | undefined;
    try {
      member = await this.members.isMember(principal, conversationId, position);
    } catch (error) {
      this.log.warn({ msg: 'membership not known', conversationId, ...describeError(error) });
      member = undefined;
    }
    if (member === undefined) return false; // not known now: not delivered, asked again next time
    this.memberships.set(key, member);
    return member;
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

function membershipKey(tenantId: string, memberId: string, conversationId: string): string {
  return JSON.stringify([tenantId, memberId, conversationId]);
}
