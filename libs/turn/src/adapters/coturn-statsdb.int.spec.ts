import {
  LOCAL_REDIS_MISSING,
  TURN_BINARIES_MISSING,
  startCoturn,
  startEchoPeer,
  type Running,
} from '@ledgerline/testing';
import type { TurnAllocationEndedV1 } from '../domain/allocation-ended.event';
import { PeerPolicy } from '../domain/peer-policy';
import { mintTurnCredential } from '../domain/turn-credentials';
import { TurnTestClient } from '../testing/turn-test-client';
import { CoturnStatsReader } from './coturn-statsdb.adapter';

// coturn's allocation records, from its Redis statistics database, become the same audit event the
// built-in relay emits: exactly one per allocation, with the bytes relayed each way.
const missing = TURN_BINARIES_MISSING ?? LOCAL_REDIS_MISSING;
const suite = missing ? describe.skip : describe;
const name = 'coturn statistics → TurnAllocationEnded';

suite(missing ? `${name} [skipped: ${missing}]` : name, () => {
  const SECRET = 'statsdb-secret-0123456789';
  const base = 33_000 + (process.pid % 1_000) * 2;
  const peerPort = base + 1;
  let coturn: Running;
  let peer: Running;
  let reader: CoturnStatsReader;
  const events: TurnAllocationEndedV1[] = [];

  beforeAll(async () => {
    peer = await startEchoPeer('127.0.0.2', peerPort);
    reader = new CoturnStatsReader('redis://127.0.0.1:6379/0', async (e) => void events.push(e), {
      warn: () => undefined,
    });
    await reader.start();
    coturn = await startCoturn({
      host: '127.0.0.1',
      port: base,
      secrets: [SECRET],
      realm: 'ledgerline.test',
      peerRules: new PeerPolicy(['127.0.0.2/32']).coturnPeerRules(),
      redisStatsDb: 'ip=127.0.0.1 port=6379 dbname=0',
    });
  });
  afterAll(async () => {
    await coturn?.stop();
    await reader?.stop();
    await peer?.stop();
  });

  it('turns one coturn allocation into exactly one event with the byte counts each way', async () => {
    const userId = `statsdb-${process.pid}`;
    const c = mintTurnCredential({
      secret: SECRET,
      tenantId: 'tenant-s',
      userId,
      now: new Date(),
      ttlSeconds: 600,
    });
    const client = await new TurnTestClient(
      { host: '127.0.0.1', port: base },
      c.username,
      c.password,
    ).open();
    try {
      expect((await client.allocate()).ok).toBe(true);
      expect((await client.channelBind(0x4005, '127.0.0.2', peerPort)).ok).toBe(true);
      for (let i = 0; i < 5; i++) client.channelData(0x4005, Buffer.alloc(100, i));
      await client.receivedAtLeast(5);
      expect((await client.refresh(0)).ok).toBe(true);
    } finally {
      client.close();
    }
    const deadline = Date.now() + 20_000;
    while (!events.some((e) => e.userId === userId) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const mine = events.filter((e) => e.userId === userId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      relay: 'coturn',
      tenantId: 'tenant-s',
      userId,
      transport: 'udp',
      bytesFromClient: 500,
      bytesToClient: 500,
      packetsFromClient: 5,
      packetsToClient: 5,
      reason: 'deallocated',
    });
    expect(mine[0]!.clientAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});
