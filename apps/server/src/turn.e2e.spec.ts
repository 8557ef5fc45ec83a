import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphQLClient } from 'graphql-request';
import { auditStreamId, parseAccessRecorded } from '@ledgerline/audit';
import { loadConfig } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  availableDatabases,
  clientHeaders,
  describeWithTurnBinaries,
  devToken,
  openTestDatabase,
  runUclient,
  startEchoPeer,
  type Running,
  type TestDatabase,
} from '@ledgerline/testing';
import { TURN_ALLOCATION_ENDED, TurnServices, turnStreamId } from '@ledgerline/turn';
import { startServer, type RunningServer } from './bootstrap';

// `npm start` runs the built-in relay beside the server: a member asks GraphQL for `iceServers`,
// coturn's own client relays through the relay with that credential, and the allocation ends as
// one sealed TurnAllocationEnded in the member's TURN stream plus one access record.

const TENANT = 'clinic-turn';
const ICE_SERVERS = /* GraphQL */ `
  query {
    iceServers {
      iceServers {
        urls
        username
        credential
      }
      expiresAt
    }
  }
`;

interface IceServersBody {
  iceServers: {
    iceServers: { urls: string[]; username: string | null; credential: string | null }[];
    expiresAt: string;
  };
}

describeWithTurnBinaries('the server’s built-in TURN relay', () => {
  describe.each(availableDatabases())('on %s', (kind) => {
    let server: RunningServer;
    let db: TestDatabase | undefined;
    let dataDir: string;
    let peer: Running;
    const peerPort = 31_000 + (process.pid % 1_000) * 3 + (kind === 'postgres' ? 1 : 0);

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-turn-e2e-'));
      peer = await startEchoPeer('127.0.0.2', peerPort);
      const env: Record<string, string> = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        LEDGERLINE_PORT: '0',
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_TURN_SECRETS: 'e2e-turn-secret-0123456789',
        LEDGERLINE_TURN_PEER_ALLOWLIST: '127.0.0.2/32',
      };
      if (kind === 'postgres') {
        db = await openTestDatabase('postgres');
        env['DATABASE_URL'] = db.url!;
      }
      server = await startServer(loadConfig(env));
    }, 240_000);

    afterAll(async () => {
      await server?.shutdown('test done');
      await peer?.stop();
      await db?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }, 30_000);

    it('hands a member iceServers whose credential relays through it, audited once with the bytes', async () => {
      const userId = `nurse-${kind}`;
      const token = await devToken(server.url, { tenantId: TENANT, userId });
      const gql = new GraphQLClient(`${server.url}/graphql`, {
        headers: clientHeaders(token),
      });
      const body = await gql.request<IceServersBody>(ICE_SERVERS);
      const relay = server.app.get(TurnServices).relay!;
      const { port } = relay.listening;
      const [stun, turn] = body.iceServers.iceServers;
      expect(stun!.urls).toEqual([`stun:127.0.0.1:${port}`]);
      expect(turn!.urls).toEqual([
        `turn:127.0.0.1:${port}?transport=udp`,
        `turn:127.0.0.1:${port}?transport=tcp`,
      ]);
      expect(turn!.username).toMatch(new RegExp(`^\\d+:${TENANT}:${userId}$`));
      expect(new Date(body.iceServers.expiresAt).getTime()).toBeGreaterThan(Date.now());

      const run = await runUclient({
        host: '127.0.0.1',
        port,
        user: turn!.username!,
        password: turn!.credential!,
        peerHost: '127.0.0.2',
        peerPort,
        messages: 10,
        length: 120,
      });
      expect({ code: run.code, sent: run.sent, received: run.received }).toEqual({
        code: 0,
        sent: 10,
        received: 10,
      });

      const ledger = server.app.get<Ledger>(LEDGER);
      let ended: Record<string, unknown>[] = [];
      for (let i = 0; i < 100 && ended.length === 0; i++) {
        const events = await ledger.readStream(turnStreamId(TENANT, userId));
        ended = events
          .filter((e) => e.type === TURN_ALLOCATION_ENDED && e.body.status === 'available')
          .map(
            (e) =>
              JSON.parse((e.body as { payload: Buffer }).payload.toString('utf8')) as Record<
                string,
                unknown
              >,
          );
        if (ended.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      // uclient's own 100-byte probes aside, every one of its 10 messages went out and came back.
      expect(ended).toHaveLength(1);
      expect(ended[0]).toMatchObject({
        relay: 'built-in',
        tenantId: TENANT,
        userId,
        peers: expect.arrayContaining(['127.0.0.2']) as unknown,
        reason: 'deallocated',
      });
      expect(ended[0]!['bytesFromClient']).toBe(ended[0]!['bytesToClient']);
      expect(ended[0]!['bytesFromClient']).toBeGreaterThanOrEqual(10 * 120);

      // The access record is appended after the event (access records share batched appends).
      let records: ReturnType<typeof parseAccessRecorded>[] = [];
      for (let i = 0; i < 200 && records.length === 0; i++) {
        const audit = await ledger.readStream(auditStreamId(TENANT));
        records = audit
          .map((e) =>
            e.body.status === 'available' ? parseAccessRecorded(e.body.payload) : undefined,
          )
          .filter(
            (r): r is ReturnType<typeof parseAccessRecorded> => r?.action === 'turn.allocation',
          );
        if (records.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        actor: { id: userId, kind: 'user' },
        outcome: 'allowed',
        targetIds: [ended[0]!['allocationId']],
      });
    });
  });
});
