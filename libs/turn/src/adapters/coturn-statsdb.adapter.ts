import { Redis } from 'ioredis';
import type { TurnAllocationEndedV1 } from '../domain/allocation-ended.event';
import { parseTurnUsername } from '../domain/turn-credentials';

export interface CoturnStatsLog {
  warn(fields: Record<string, unknown>): void;
}

interface Pending {
  username: string;
  startedAt: number;
  transport: 'udp' | 'tcp';
  clientAddress: string;
  deallocated: boolean;
  deletedAt?: number;
  timer?: NodeJS.Timeout;
  traffic?: { rcvp: number; rcvb: number; sentp: number; sentb: number };
}

const CHANNEL =
  /^turn\/realm\/[^/]*\/user\/(.+)\/allocation\/([^/]+)\/(status|total_traffic\/peer)$/;
const MAX_PENDING = 100_000;
/** How long after `deleted` the final peer traffic may take to arrive before the event goes without it. */
const TRAFFIC_GRACE_MS = 5_000;

/**
 * Turns coturn's Redis statistics (`redis-statsdb`, schema in coturn's schema.stats.redis) into the
 * same `TurnAllocationEnded` events the built-in relay produces: `status` `new …` opens an
 * allocation (client address, transport), `deleted` closes it, and `total_traffic/peer` gives the
 * bytes relayed to and from peers. coturn publishes neither the relayed address nor the
 * permissions' peers, so those stay empty for coturn allocations.
 *
 * Redis pub/sub delivers only while subscribed: allocations that end while this reader is down are
 * not audited (the ADR says so); a reader per deployment, in the turn app.
 */
export class CoturnStatsReader {
  private redis?: Redis;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly url: string,
    private readonly onAllocationEnded: (event: TurnAllocationEndedV1) => Promise<void>,
    private readonly log: CoturnStatsLog,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    const redis = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: null });
    redis.on('error', (error: Error) =>
      this.log.warn({ msg: 'coturn statistics database error', error: error.name }),
    );
    redis.on('pmessage', (_pattern: string, channel: string, message: string) =>
      this.onMessage(channel, message),
    );
    await redis.connect();
    await redis.psubscribe('turn/realm/*/user/*/allocation/*');
    this.redis = redis;
  }

  async stop(): Promise<void> {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
    if (this.redis) {
      const redis = this.redis;
      this.redis = undefined;
      await redis.quit().catch(() => redis.disconnect());
    }
  }

  /** One published statistics message; public for tests that feed recorded messages. */
  onMessage(channel: string, message: string): void {
    const match = CHANNEL.exec(channel);
    if (!match) return;
    const [, username, id, kind] = match as unknown as [string, string, string, string];
    const key = `${username}\u0000${id}`;
    let entry = this.pending.get(key);
    if (kind === 'status') {
      if (message.startsWith('new ')) {
        if (this.pending.size >= MAX_PENDING) {
          this.log.warn({ msg: 'too many open coturn allocations; one is not audited' });
          return;
        }
        const fields = parseFields(message.slice(4));
        entry = {
          username,
          startedAt: this.now(),
          transport: fields['type']?.toLowerCase() === 'tcp' ? 'tcp' : 'udp',
          clientAddress: fields['remote'] ?? '',
          deallocated: false,
        };
        this.pending.set(key, entry);
      } else if (entry && message.startsWith('refreshed ')) {
        entry.deallocated = parseFields(message.slice(10))['lifetime'] === '0';
      } else if (entry && message === 'deleted') {
        entry.deletedAt = this.now();
        if (entry.traffic) this.finish(key, id, entry);
        else {
          entry.timer = setTimeout(() => this.finish(key, id, entry!), TRAFFIC_GRACE_MS);
          entry.timer.unref();
        }
      }
      return;
    }
    if (!entry) return;
    const t = parseFields(message);
    entry.traffic = {
      rcvp: Number(t['rcvp'] ?? 0),
      rcvb: Number(t['rcvb'] ?? 0),
      sentp: Number(t['sentp'] ?? 0),
      sentb: Number(t['sentb'] ?? 0),
    };
    if (entry.deletedAt !== undefined) this.finish(key, id, entry);
  }

  private finish(key: string, id: string, entry: Pending): void {
    if (this.pending.get(key) !== entry) return;
    this.pending.delete(key);
    clearTimeout(entry.timer);
    const user = parseTurnUsername(entry.username);
    if (!user) {
      this.log.warn({
        msg: 'coturn allocation of a username outside the credential scheme',
        allocationId: id,
      });
      return;
    }
    const endedAt = entry.deletedAt ?? this.now();
    const traffic = entry.traffic ?? { rcvp: 0, rcvb: 0, sentp: 0, sentb: 0 };
    const event: TurnAllocationEndedV1 = {
      relay: 'coturn',
      allocationId: id,
      tenantId: user.tenantId,
      userId: user.userId,
      transport: entry.transport,
      clientAddress: entry.clientAddress,
      peers: [],
      startedAt: new Date(entry.startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      durationMs: endedAt - entry.startedAt,
      // Seen from the peer side: what coturn sent to peers came from the client, and back.
      bytesFromClient: traffic.sentb,
      bytesToClient: traffic.rcvb,
      packetsFromClient: traffic.sentp,
      packetsToClient: traffic.rcvp,
      reason: entry.deallocated ? 'deallocated' : 'expired',
    };
    this.onAllocationEnded(event).catch((error: unknown) =>
      this.log.warn({
        msg: 'coturn allocation audit failed',
        allocationId: id,
        error: error instanceof Error ? error.name : 'unknown',
      }),
    );
  }
}

/** `a=1, b=x` → { a: '1', b: 'x' }. */
function parseFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
