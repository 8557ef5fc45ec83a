import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { AccessPolicy, Principal } from '@ledgerline/identity';
import { describeError, type Clock } from '@ledgerline/kernel';
import {
  InvalidPresenceInput,
  PresenceRefusalReason,
  PresenceRefused,
} from '../domain/presence.errors';
import { TypingConversationNotFoundError, TypingRateLimitedError } from './presence.errors';
import { SILENT_PRESENCE_LOG, type PresenceLog, type TypingSignal } from './presence-views';
import type { TypingChannel, TypingSubscription } from './typing-channel.port';

/**
 * Who is in a conversation: presence's port, which the app binds to libs/conversations'
 * membership read model (SqlConversationMemberships).
 */
export interface TypingMemberships {
  isMember(tenantId: string, conversationId: string, memberId: string): Promise<boolean>;
  membersAmong(
    tenantId: string,
    conversationId: string,
    candidates: readonly string[],
  ): Promise<ReadonlySet<string>>;
}

export interface TypingIndicatorsOptions {
  readonly clock: Clock;
  /** How long a signal lasts (carried in it as `expiresAt`). */
  readonly ttlMs: number;
  /** Signals one user may send per conversation per window, on this node. */
  readonly rateLimit: { readonly points: number; readonly windowMs: number };
  readonly log?: PresenceLog;
}

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const MEMBER_ID = /^[!-;=?-~]{1,128}$/;

interface Watcher {
  readonly viewer: Principal;
  readonly onTyping: (signal: TypingSignal) => void;
}

/** What goes over NOTIFY: ids and the expiry only (well under PostgreSQL's 8000-byte payload cap). */
interface TypingPayload {
  readonly v: 1;
  readonly t: string;
  readonly c: string;
  readonly u: string;
  /** Expiry, epoch milliseconds. */
  readonly e: number;
}

/**
 * Typing indicators: ephemeral, never an event, never a row. A signal is checked (the sender may
 * write presence and is a member of the conversation), rate-limited per user and conversation,
 * and sent to every node over the TypingChannel (PostgreSQL NOTIFY) with a payload of ids and the
 * expiry only (no PHI); each node hands it to its watchers who are members of the conversation (and to services of
 * the tenant with `presence.read`), unless it expired on the way. A signal expires on its own at
 * `expiresAt`: clients stop showing it then unless another arrives; there is no "stopped typing".
 *
 * The rate limit is counted per node (in memory): a user connected to two nodes may send up to
 * twice as many, which still bounds a flood.
 */
export class TypingIndicators {
  private readonly byTenant = new Map<string, Map<number, Watcher>>();
  private readonly limiter: RateLimiterMemory;
  private readonly log: PresenceLog;
  private nextWatcherId = 1;
  private readonly listener: TypingSubscription;
  /** Signals are handed over one at a time, in the order they arrived. */
  private delivering: Promise<void> = Promise.resolve();

  constructor(
    private readonly access: Pick<AccessPolicy, 'check' | 'allows'>,
    private readonly memberships: TypingMemberships,
    private readonly channel: TypingChannel,
    private readonly options: TypingIndicatorsOptions,
  ) {
    this.listener = channel.subscribe((payload) => this.onNotify(payload));
    this.limiter = new RateLimiterMemory({
      points: options.rateLimit.points,
      duration: options.rateLimit.windowMs / 1000,
    });
    this.log = options.log ?? SILENT_PRESENCE_LOG;
  }

  /** Starts listening for every node's signals. */
  start(): Promise<void> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener.stop();
    await this.delivering;
  }

  /** Ephemeral (never stored as an event), rate-limited (typed error when exceeded), expires on its own; membership-checked. */
  async typing(principal: Principal, conversationId: string): Promise<TypingSignal> {
    if (typeof conversationId !== 'string' || !CONVERSATION_ID.test(conversationId)) {
      throw new InvalidPresenceInput('conversationId', 'invalid_format');
    }
    if (principal.kind === 'service') throw new PresenceRefused(PresenceRefusalReason.NoPresence);
    await this.access.check(principal, 'presence.write', {
      tenantId: principal.tenantId,
      type: 'conversation',
      id: conversationId,
    });
    // Counted before the membership read, so a flood costs no queries.
    try {
      await this.limiter.consume(
        JSON.stringify([principal.tenantId, principal.id, conversationId]),
      );
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw new TypingRateLimitedError(conversationId, Math.max(1, rejection.msBeforeNext));
      }
      throw rejection;
    }
    if (!(await this.memberships.isMember(principal.tenantId, conversationId, principal.id))) {
      throw new TypingConversationNotFoundError(conversationId);
    }
    const signal: TypingSignal = {
      tenantId: principal.tenantId,
      conversationId,
      userId: principal.id,
      expiresAt: new Date(this.options.clock.now().getTime() + this.options.ttlMs),
    };
    const payload: TypingPayload = {
      v: 1,
      t: signal.tenantId,
      c: signal.conversationId,
      u: signal.userId,
      e: signal.expiresAt.getTime(),
    };
    await this.channel.publish(JSON.stringify(payload));
    return signal;
  }

  /**
   * The check `watch` makes, recorded when denied: edges call it before `watch`. With a
   * conversation (a watch of that one only), a user or agent must also be a member of it
   * (TypingConversationNotFoundError otherwise, whether or not it exists).
   */
  async authorizeWatch(viewer: Principal, conversationId?: string): Promise<void> {
    if (
      conversationId !== undefined &&
      (typeof conversationId !== 'string' || !CONVERSATION_ID.test(conversationId))
    ) {
      throw new InvalidPresenceInput('conversationId', 'invalid_format');
    }
    await this.access.check(viewer, 'presence.read', {
      tenantId: viewer.tenantId,
      type: conversationId === undefined ? 'typing' : 'conversation',
      ...(conversationId === undefined ? {} : { id: conversationId }),
    });
    if (conversationId === undefined || viewer.kind === 'service') return;
    if (!(await this.memberships.isMember(viewer.tenantId, conversationId, viewer.id))) {
      throw new TypingConversationNotFoundError(conversationId);
    }
  }

  /**
   * Typing signals in conversations the viewer is a member of (the viewer's own included, for
   * their other devices), from every node. Returns unsubscribe. A viewer without `presence.read`
   * receives none: nothing is registered (edges that must refuse such a subscription, recorded,
   * call `authorizeWatch` first).
   */
  watch(viewer: Principal, onTyping: (signal: TypingSignal) => void): () => void {
    if (!this.access.allows(viewer, 'presence.read', { tenantId: viewer.tenantId })) {
      return () => undefined;
    }
    this.start().catch((error: unknown) =>
      this.log.error({ msg: 'typing signals not listened to', ...describeError(error) }),
    );
    const id = this.nextWatcherId++;
    let tenant = this.byTenant.get(viewer.tenantId);
    if (!tenant) {
      tenant = new Map();
      this.byTenant.set(viewer.tenantId, tenant);
    }
    tenant.set(id, { viewer, onTyping });
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

  private onNotify(payload: string | undefined): void {
    // No payload: the listener reconnected. Signals missed meanwhile have expired or will soon.
    if (payload === undefined) return;
    const signal = parsePayload(payload);
    if (!signal) {
      this.log.warn({ msg: 'malformed typing notification passed over' });
      return;
    }
    this.delivering = this.delivering.then(() =>
      this.deliver(signal).catch((error: unknown) =>
        this.log.warn({
          msg: 'typing signal not delivered',
          conversationId: signal.conversationId,
          ...describeError(error),
        }),
      ),
    );
  }

  private async deliver(signal: TypingSignal): Promise<void> {
    const watchers = this.byTenant.get(signal.tenantId);
    if (!watchers?.size) return;
    if (signal.expiresAt.getTime() <= this.options.clock.now().getTime()) return; // stale
    const targets = [...watchers.values()];
    const candidates = targets.filter((w) => w.viewer.kind !== 'service').map((w) => w.viewer.id);
    const members =
      candidates.length === 0
        ? new Set<string>()
        : await this.memberships.membersAmong(signal.tenantId, signal.conversationId, candidates);
    for (const w of targets) {
      if (w.viewer.kind !== 'service' && !members.has(w.viewer.id)) continue;
      try {
        w.onTyping(signal);
      } catch (error) {
        this.log.warn({ msg: 'typing watcher threw', ...describeError(error) });
      }
    }
  }
}

/** A signal from a NOTIFY payload, or undefined for anything that is not exactly one. */
function parsePayload(payload: string): TypingSignal | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const p = parsed as Partial<Record<keyof TypingPayload, unknown>>;
  if (
    p.v !== 1 ||
    typeof p.t !== 'string' ||
    !TENANT_ID.test(p.t) ||
    typeof p.c !== 'string' ||
    !CONVERSATION_ID.test(p.c) ||
    typeof p.u !== 'string' ||
    !MEMBER_ID.test(p.u) ||
    typeof p.e !== 'number' ||
    !Number.isSafeInteger(p.e)
  ) {
    return undefined;
  }
  return { tenantId: p.t, conversationId: p.c, userId: p.u, expiresAt: new Date(p.e) };
}
