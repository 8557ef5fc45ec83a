import { startBroadcastServer, type BroadcastServer } from './broadcast-server';
import { RealtimeClientPool, type ClientSpec } from './realtime-clients';
import { SendLadder, type LadderOptions } from './send-ladder';

// The realtime bench's client harness and rising send rate, against the reference server with real
// `ws` clients: what it counts must be what happened. No assertion on a time.

const GROUP_SIZE = 3;
const GROUPS = 2;

function specs(joined: boolean): ClientSpec[] {
  return Array.from({ length: GROUPS * GROUP_SIZE }, (_, i) => ({
    deviceId: `d-${i}`,
    ...(joined ? { conversationId: `room-${Math.floor(i / GROUP_SIZE)}`, revision: 0 } : {}),
  }));
}

function options(overrides: Partial<LadderOptions> = {}): LadderOptions {
  return {
    label: 'reference',
    rates: [20, 40],
    stepSeconds: 0.5,
    warmupSeconds: 0.1,
    drainMs: 2_000,
    groupSize: GROUP_SIZE,
    conversations: Array.from({ length: GROUPS }, (_, g) => `room-${g}`),
    texts: ['a', 'b'],
    signal: new AbortController().signal,
    progress: () => undefined,
    ...overrides,
  };
}

describe('realtime bench: client pool and send ladder', () => {
  let server: BroadcastServer;
  let pool: RealtimeClientPool | undefined;

  beforeAll(async () => {
    server = await startBroadcastServer();
  });

  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  afterAll(async () => {
    await server.close();
  });

  it('counts every send acked and delivered once to each other member, at every step', async () => {
    pool = RealtimeClientPool.for(server.url);
    await pool.connect(specs(true), { concurrency: 4, signal: new AbortController().signal });
    expect(pool.size).toBe(GROUPS * GROUP_SIZE);
    const ladder = new SendLadder(pool, options());

    const priming = await ladder.prime(5_000);
    expect(priming.complete).toBe(true);

    const steps = await ladder.run();
    expect([...steps.keys()]).toEqual([20, 40]);
    for (const stats of steps.values()) {
      expect(stats.sent).toBeGreaterThan(0);
      expect(stats.acked).toBe(stats.sent);
      expect(stats.failed).toBe(0);
      expect(stats.expectedDeliveries).toBe(stats.sent * (GROUP_SIZE - 1));
      expect(stats.delivered).toBe(stats.expectedDeliveries);
      expect(stats.duplicates).toBe(0);
      expect(Number.isFinite(stats.deliverP99Ms)).toBe(true);
      expect(stats.deliveredPerSecond).toBeGreaterThan(0);
    }
    expect(pool.closedCodes.size).toBe(0);
  });

  it('counts deliveries that never come as lost, and stops rising at the first such step', async () => {
    // Clients that joined no room: every send is acked, and nothing is ever delivered.
    pool = RealtimeClientPool.for(server.url);
    await pool.connect(specs(false), { concurrency: 4, signal: new AbortController().signal });
    const ladder = new SendLadder(pool, options({ drainMs: 200 }));

    const priming = await ladder.prime(200);
    expect(priming.complete).toBe(false);

    const steps = await ladder.run();
    expect([...steps.keys()]).toEqual([20]);
    const stats = steps.get(20)!;
    expect(stats.acked).toBe(stats.sent);
    expect(stats.delivered).toBe(0);
    expect(stats.expectedDeliveries).toBe(stats.sent * (GROUP_SIZE - 1));
    expect(stats.deliverP99Ms).toBe(Number.POSITIVE_INFINITY);
    expect(stats.deliveredPerSecond).toBe(0);
  });

  it('names the client that could not connect, and keeps none of it', async () => {
    pool = RealtimeClientPool.for('http://127.0.0.1:1');
    await expect(
      pool.connect(specs(true).slice(0, 1), {
        concurrency: 1,
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow('client 0 (d-0) could not connect');
    expect(pool.size).toBe(0);
  });
});
