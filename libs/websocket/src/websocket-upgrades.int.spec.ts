import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpAdapterHost } from '@nestjs/core';
import { ManualClock } from '@ledgerline/kernel';
import WebSocket, { WebSocketServer } from 'ws';
import { startHeartbeat } from './heartbeat';
import { runAt } from './run-at';
import { refuseUpgrade } from './upgrade-refusal';
import { WebSocketUpgrades, upgradePath } from './websocket-upgrades';

// Two endpoints on one real HTTP server, real ws clients: each upgrade goes to the endpoint of its
// path; any other path is refused once, with 404.

interface Outcome {
  readonly status?: number;
  readonly opened?: string;
}

function attempt(url: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_req, res: IncomingMessage) => {
      resolve({ status: res.statusCode });
      res.resume();
      socket.terminate();
    });
    socket.once('message', (data: Buffer) => {
      resolve({ opened: data.toString() });
      socket.close();
    });
    socket.once('error', reject);
  });
}

describe('WebSocketUpgrades', () => {
  let server: Server;
  let base: string;
  let upgrades: WebSocketUpgrades;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const host = { httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost;
    upgrades = new WebSocketUpgrades(host);
    for (const name of ['graphql', 'realtime']) {
      const wss = new WebSocketServer({ noServer: true });
      const path = name === 'graphql' ? '/graphql' : '/v1/realtime';
      expect(
        upgrades.route(path, (request, socket, head) => {
          seen.push(`${name} ${request.url ?? ''}`);
          if (request.headers['x-refuse']) return refuseUpgrade(socket, 401);
          wss.handleUpgrade(request, socket, head, (ws) => ws.send(name));
        }),
      ).toBe(true);
    }
  });

  afterAll(async () => {
    upgrades.onModuleDestroy();
    await new Promise((r) => server.close(r));
  });

  it('routes each upgrade by exact path, query string aside', async () => {
    expect(await attempt(`${base}/graphql`)).toEqual({ opened: 'graphql' });
    expect(await attempt(`${base}/v1/realtime?x=1`)).toEqual({ opened: 'realtime' });
    expect(seen).toEqual(['graphql /graphql', 'realtime /v1/realtime?x=1']);
  });

  it('refuses every other path with 404, once, without troubling the endpoints', async () => {
    seen.length = 0;
    expect(await attempt(`${base}/v1/realtime/extra`)).toEqual({ status: 404 });
    expect(await attempt(`${base}/`)).toEqual({ status: 404 });
    expect(server.listenerCount('upgrade')).toBe(1);
    expect(seen).toEqual([]);
  });

  it('refuses two endpoints on one path', () => {
    expect(() => upgrades.route('/graphql', () => undefined)).toThrow(/two WebSocket endpoints/);
    expect(upgrades.paths).toEqual(['/graphql', '/v1/realtime']);
  });

  it('answers false when the app has no HTTP server', () => {
    const none = new WebSocketUpgrades({ httpAdapter: undefined } as unknown as HttpAdapterHost);
    expect(none.route('/x', () => undefined)).toBe(false);
  });

  it('upgradePath drops the query string', () => {
    expect(upgradePath('/v1/realtime?token=x')).toBe('/v1/realtime');
    expect(upgradePath(undefined)).toBe('/');
  });
});

describe('startHeartbeat', () => {
  it('terminates a peer that stops answering pings, and says so first', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const wss = new WebSocketServer({ server });
    let dead = 0;
    const closed = new Promise<void>((resolve) => {
      wss.on('connection', (socket) => {
        startHeartbeat(socket, 50, () => (dead += 1));
        socket.once('close', () => resolve());
      });
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await new Promise((r) => client.once('open', r));
    client.pause(); // reads nothing, so answers no ping
    await closed;
    expect(dead).toBe(1);
    client.terminate();
    wss.close();
    await new Promise((r) => server.close(r));
  });
});

describe('runAt', () => {
  it('runs at once when the time has passed, later otherwise, and never once cancelled', async () => {
    const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
    let ran = 0;
    runAt(clock, new Date('2029-12-31T23:59:59Z'), () => (ran += 1));
    expect(ran).toBe(1);
    const cancel = runAt(clock, new Date(clock.now().getTime() + 20), () => (ran += 10));
    cancel();
    runAt(clock, new Date(clock.now().getTime() + 20), () => (ran += 100));
    clock.advance(20);
    await new Promise((r) => setTimeout(r, 60));
    expect(ran).toBe(101);
  });
});
