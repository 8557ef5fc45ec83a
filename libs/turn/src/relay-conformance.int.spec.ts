import { createSocket } from 'node:dgram';
import type { TurnAllocationEndedV1 } from './domain/allocation-ended.event';
import { PeerPolicy } from './domain/peer-policy';
import { Attr, StunMethod, attribute } from './domain/stun-message';
import { mintTurnCredential } from './domain/turn-credentials';
import { TurnRelay } from './application/turn-relay';
import {
  describeWithTurnBinaries,
  runUclient,
  startCoturn,
  startEchoPeer,
  type Running,
} from '@ledgerline/testing';
import { TurnTestClient } from './testing/turn-test-client';

/**
 * One suite, two relays: the built-in relay and coturn must pass the same real-client and security
 * checks. The echo peer sits on 127.0.0.2, the one loopback address both relays' allowlists let
 * through; every other refused address must get 403 in every spelling.
 */
const SECRET = 'conformance-secret-one';
const OLD_SECRET = 'conformance-secret-old';
const REALM = 'ledgerline.test';
const HOST = '127.0.0.1';
const PEER_HOST = '127.0.0.2';
const policy = new PeerPolicy([`${PEER_HOST}/32`]);

/** Every refused address, in each spelling that reaches it. */
export const REFUSED_PEERS = [
  '127.0.0.1',
  '127.1.2.3',
  '::ffff:127.0.0.1',
  '::ffff:0:127.0.0.1',
  '64:ff9b::127.0.0.1',
  '2002:7f00:1::1',
  '::1',
  '::',
  '0.0.0.0',
  '10.1.2.3',
  '::ffff:10.1.2.3',
  '2002:a01:203::1',
  '172.16.0.1',
  '172.31.255.254',
  '192.168.1.1',
  '64:ff9b::c0a8:101',
  '100.64.0.1',
  '169.254.169.254',
  '::ffff:169.254.169.254',
  '64:ff9b::a9fe:a9fe',
  '2002:a9fe:a9fe::1',
  'fc00::1',
  'fd12:3456::1',
  'fe80::1',
  '224.0.0.1',
  '239.255.255.250',
  'ff02::1',
  '255.255.255.255',
];

interface Target {
  readonly name: 'built-in' | 'coturn';
  start(ports: {
    relay: number;
  }): Promise<Running & { port: number; events: TurnAllocationEndedV1[] }>;
}

const targets: Target[] = [
  {
    name: 'built-in',
    async start() {
      const events: TurnAllocationEndedV1[] = [];
      const relay = new TurnRelay({
        listenHost: HOST,
        relayHost6: '::1',
        port: 0,
        tcp: true,
        realm: REALM,
        secrets: () => [SECRET, OLD_SECRET],
        peerPolicy: policy,
        quotas: {
          allocationsPerUser: 3,
          allocationsTotal: 100,
          bandwidthBytesPerSecond: 0,
          permissionsPerAllocation: 32,
        },
        lifetimes: {
          defaultSeconds: 600,
          maxSeconds: 3600,
          permissionSeconds: 300,
          channelSeconds: 600,
          nonceSeconds: 600,
        },
        onAllocationEnded: (e) => void events.push(e),
      });
      const { port } = await relay.start();
      return { port, events, stop: () => relay.stop() };
    },
  },
  {
    name: 'coturn',
    async start({ relay: port }) {
      const running = await startCoturn({
        host: HOST,
        host6: '::1',
        port,
        secrets: [SECRET, OLD_SECRET],
        realm: REALM,
        peerRules: policy.coturnPeerRules(),
        userQuota: 3,
      });
      return { ...running, port, events: [] };
    },
  },
];

function credential(userId: string, secret = SECRET, ttlSeconds = 600, now = new Date()) {
  return mintTurnCredential({ secret, tenantId: 'tenant-a', userId, now, ttlSeconds });
}

let portBase = 30_000 + (process.pid % 2_000) * 10;

describeWithTurnBinaries('TURN relays, the same real-client and security suite', () => {
  for (const target of targets) {
    describe(target.name, () => {
      let relay: Running & { port: number; events: TurnAllocationEndedV1[] };
      let peer: Running;
      const peerPort = portBase++;
      const server = () => ({ host: HOST, port: relay.port });

      beforeAll(async () => {
        peer = await startEchoPeer(PEER_HOST, peerPort);
        relay = await target.start({ relay: portBase++ });
      });
      afterAll(async () => {
        await relay?.stop();
        await peer?.stop();
      });

      it.each([
        ['UDP, channels', {}],
        ['UDP, Send indications', { send: true }],
        ['TCP, channels', { tcp: true }],
      ])(
        'turnutils_uclient allocates, creates permissions, binds channels and relays data (%s)',
        async (_, mode) => {
          const run = await runUclient({
            host: HOST,
            port: relay.port,
            user: `tenant-a:uclient-${Math.random().toString(36).slice(2, 8)}`,
            secret: SECRET,
            peerHost: PEER_HOST,
            peerPort,
            messages: 20,
            ...mode,
          });
          expect({ code: run.code, sent: run.sent }).toEqual({ code: 0, sent: 20 });
          expect(run.received).toBe(20);
        },
      );

      it.each([4, 6] as const)(
        'refuses a permission for every refused address, in every spelling, with 403 (IPv%s allocation)',
        async (family) => {
          const c = credential(`policy-user-${family}`);
          const client = await new TurnTestClient(server(), c.username, c.password).open();
          try {
            expect((await client.allocate(undefined, family)).ok).toBe(true);
            const spellings = REFUSED_PEERS.filter((a) => a.includes(':') === (family === 6));
            const codes: Record<string, number | undefined> = {};
            for (const address of spellings)
              codes[address] = (await client.createPermission(address)).code;
            expect(codes).toEqual(Object.fromEntries(spellings.map((a) => [a, 403])));
            const refused = family === 4 ? '10.0.0.1' : 'fd00::1';
            expect((await client.channelBind(0x4001, refused, 5000)).code).toBe(403);
            if (family === 4) expect((await client.createPermission(PEER_HOST)).ok).toBe(true);
          } finally {
            await client.refresh(0).catch(() => undefined);
            client.close();
          }
        },
      );

      it('answers wrong, expired and prototype-named credentials with 401, and accepts both secrets', async () => {
        const attempt = async (username: string, password: string) => {
          const client = await new TurnTestClient(server(), username, password).open();
          try {
            return (await client.allocate()).code ?? 200;
          } finally {
            client.close();
          }
        };
        const good = credential('rotation-user');
        expect(await attempt(good.username, 'not-the-password')).toBe(401);
        const expired = credential('expired-user', SECRET, 60, new Date(Date.now() - 3_600_000));
        expect(await attempt(expired.username, expired.password)).toBe(401);
        for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
          expect(await attempt(name, '')).toBe(401);
        }
        expect(await attempt(good.username, good.password)).toBe(200);
        const old = credential('rotation-user-2', OLD_SECRET);
        expect(await attempt(old.username, old.password)).toBe(200);
        const unknown = credential('rotation-user-3', 'a-secret-nobody-configured');
        expect(await attempt(unknown.username, unknown.password)).toBe(401);
      });

      it('refreshes per RFC 8656, and a Refresh with lifetime 0 deallocates', async () => {
        const c = credential('refresh-user');
        const client = await new TurnTestClient(server(), c.username, c.password).open();
        try {
          expect((await client.allocate()).ok).toBe(true);
          const refreshed = await client.refresh(900);
          expect(refreshed.ok).toBe(true);
          expect(attribute(refreshed.message, Attr.lifetime)?.readUInt32BE(0)).toBe(900);
          // Past the maximum: capped, never NaN or zero.
          const capped = await client.refresh(86_400);
          expect(attribute(capped.message, Attr.lifetime)?.readUInt32BE(0)).toBe(3600);
          const ended = await client.refresh(0);
          expect(ended.ok).toBe(true);
          expect(attribute(ended.message, Attr.lifetime)?.readUInt32BE(0)).toBe(0);
          if (target.name === 'built-in') {
            // coturn keeps the 5-tuple's session a little longer; the built-in relay forgets it at once.
            expect((await client.createPermission(PEER_HOST)).code).toBe(437);
            expect(relay.events.filter((e) => e.userId === 'refresh-user')).toMatchObject([
              { reason: 'deallocated' },
            ]);
          }
        } finally {
          client.close();
        }
      });

      it('answers allocations past the per-user quota with 486', async () => {
        const c = credential('quota-user');
        const clients = await Promise.all(
          [0, 1, 2, 3].map(() => new TurnTestClient(server(), c.username, c.password).open()),
        );
        try {
          const codes = [];
          for (const client of clients) codes.push((await client.allocate()).code ?? 200);
          expect(codes).toEqual([200, 200, 200, 486]);
        } finally {
          for (const client of clients) {
            await client.refresh(0).catch(() => undefined);
            client.close();
          }
        }
      });

      it('ignores unknown comprehension-optional attributes and answers unknown required ones with 420', async () => {
        const c = credential('attribute-user');
        const client = await new TurnTestClient(server(), c.username, c.password).open();
        try {
          const optional = await client.request(StunMethod.allocate, [
            [Attr.requestedTransport, Buffer.from([17, 0, 0, 0])],
            [0x8077, Buffer.from('ignored')],
          ]);
          expect(optional.ok).toBe(true);
          const required = await client.request(StunMethod.refresh, [
            [0x0077, Buffer.from('what')],
          ]);
          expect(required.code).toBe(420);
        } finally {
          await client.refresh(0).catch(() => undefined);
          client.close();
        }
      });

      it('drops malformed and truncated input and keeps serving, peers’ short datagrams included', async () => {
        const c = credential('malformed-user');
        const client = await new TurnTestClient(server(), c.username, c.password).open();
        try {
          const header = Buffer.from('000100002112a442000000000000000000000000', 'hex');
          const garbage = [
            Buffer.alloc(0),
            Buffer.from([0]),
            Buffer.from([0, 1, 0]),
            Buffer.from([0x40, 0x01, 0xff]),
            Buffer.from([0x40, 0x01, 0xff, 0xff]),
            header.subarray(0, 19),
            Buffer.concat([header.subarray(0, 2), Buffer.from([0xff, 0xfc]), header.subarray(4)]),
            Buffer.concat([
              Buffer.from('000300082112a442', 'hex'),
              Buffer.alloc(12, 7),
              Buffer.from('00190400', 'hex'),
              Buffer.alloc(4),
            ]),
            Buffer.alloc(1500, 0xff),
          ];
          for (const datagram of garbage) client.raw(datagram);
          const allocated = await client.allocate();
          expect(allocated.ok).toBe(true);
          expect((await client.channelBind(0x4002, PEER_HOST, peerPort)).ok).toBe(true);
          // A 1-byte datagram from a permitted peer to the relayed address reaches the client.
          const peerSocket = createSocket('udp4');
          await new Promise<void>((resolve) => peerSocket.bind(0, PEER_HOST, () => resolve()));
          expect((await client.createPermission(PEER_HOST)).ok).toBe(true);
          peerSocket.send(Buffer.from([0x42]), allocated.relayed!.port, allocated.relayed!.address);
          await client.receivedAtLeast(1);
          peerSocket.close();
          expect(client.received[0]!.data).toEqual(Buffer.from([0x42]));
          expect((await client.refresh(600)).ok).toBe(true);
        } finally {
          await client.refresh(0).catch(() => undefined);
          client.close();
        }
      });

      if (target.name === 'built-in') {
        it('audits an allocation with exactly one event carrying the byte counts each way', async () => {
          const c = credential('audited-user');
          const client = await new TurnTestClient(server(), c.username, c.password).open();
          const before = relay.events.length;
          try {
            const allocated = await client.allocate();
            expect((await client.channelBind(0x4003, PEER_HOST, peerPort)).ok).toBe(true);
            for (let i = 0; i < 5; i++) client.channelData(0x4003, Buffer.alloc(100, i));
            await client.receivedAtLeast(5);
            expect((await client.refresh(0)).ok).toBe(true);
            const mine = relay.events.slice(before).filter((e) => e.userId === 'audited-user');
            expect(mine).toHaveLength(1);
            expect(mine[0]).toMatchObject({
              relay: 'built-in',
              tenantId: 'tenant-a',
              userId: 'audited-user',
              transport: 'udp',
              relayedAddress: `${allocated.relayed!.address}:${allocated.relayed!.port}`,
              peers: [PEER_HOST],
              bytesFromClient: 500,
              bytesToClient: 500,
              packetsFromClient: 5,
              packetsToClient: 5,
              reason: 'deallocated',
            });
          } finally {
            client.close();
          }
        });
      }
    });
  }
});
