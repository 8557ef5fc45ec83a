import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { Outbox } from './outbox';
import { UserRequestBudget } from '@ledgerline/identity';
import { RequestLimits } from './request-limits';
import { upgradeCredential } from './upgrade-credential';

/** A socket that "writes" only when told to, as a client that does not read makes it. */
class StalledSocket {
  readyState: number = WebSocket.OPEN;
  readonly unflushed: (() => void)[] = [];
  sentBytes = 0;
  send(data: Buffer, _options: unknown, callback: () => void): void {
    this.sentBytes += data.length;
    this.unflushed.push(callback);
  }
  flush(): void {
    for (const done of this.unflushed.splice(0)) done();
  }
}

describe('Outbox', () => {
  it('never lets more than the cap wait, and reports the overflow once', () => {
    const socket = new StalledSocket();
    let overflows = 0;
    const outbox = new Outbox(socket as unknown as WebSocket, 100, () => (overflows += 1));
    expect(outbox.send('x'.repeat(40))).toBe(true);
    expect(outbox.hold(40)).toBe(true);
    expect(outbox.bytes).toBe(80);
    expect(outbox.send('y'.repeat(30))).toBe(false);
    expect(overflows).toBe(1);
    expect(outbox.isOverflowed).toBe(true);
    expect(outbox.send('z')).toBe(false);
    expect(outbox.hold(1)).toBe(false);
    expect(overflows).toBe(1);
    expect(outbox.peakBytes).toBeLessThanOrEqual(100);
    expect(socket.sentBytes).toBe(40);
  });

  it('counts a frame as waiting until the socket has written it, and wakes whoever waits for room', async () => {
    const socket = new StalledSocket();
    const outbox = new Outbox(socket as unknown as WebSocket, 100, () => undefined);
    outbox.send('x'.repeat(60));
    let roomy = false;
    const waiting = outbox.room().then(() => (roomy = true));
    await Promise.resolve();
    expect(roomy).toBe(false);
    socket.flush();
    await waiting;
    expect(outbox.bytes).toBe(0);
    expect(outbox.send('é'.repeat(50))).toBe(true); // 100 bytes in UTF-8: exactly the cap
    expect(outbox.bytes).toBe(100);
  });

  it('sends nothing once closed, and lets waiters go', async () => {
    const socket = new StalledSocket();
    const outbox = new Outbox(socket as unknown as WebSocket, 100, () => undefined);
    outbox.send('x'.repeat(90));
    const waiting = outbox.room();
    outbox.close();
    await waiting;
    expect(outbox.send('late')).toBe(false);
    socket.readyState = WebSocket.CLOSED;
    expect(new Outbox(socket as unknown as WebSocket, 100, () => undefined).send('x')).toBe(false);
  });
});

describe('RequestLimits', () => {
  const user = (id: string) => ({ tenantId: 't1', kind: 'user' as const, id });
  const u1 = user('u1');
  const u2 = user('u2');

  it('admits up to the per-connection rate and its burst allowance, then refuses with a retry-after, and calls persisting abuse', async () => {
    const limits = new RequestLimits({
      ratePerConnection: 3,
      ratePerUser: 100,
      abuseLimit: 2,
      abuseWindowMs: 10_000,
      burstSeconds: 1,
      burstWindowMs: 10_000,
    });
    for (let i = 0; i < 3 + 3; i++) {
      expect(await limits.admit('c1', u1)).toEqual({ allowed: true });
    }
    const first = await limits.admit('c1', u1);
    expect(first).toMatchObject({ allowed: false, abusive: false });
    expect(first.allowed === false && first.retryAfterMs).toBeGreaterThan(0);
    expect(first.allowed === false && first.retryAfterMs).toBeLessThanOrEqual(1_000);
    expect(await limits.admit('c1', u1)).toMatchObject({ allowed: false, abusive: false });
    expect(await limits.admit('c1', u1)).toMatchObject({ allowed: false, abusive: true });
    // Another connection of another user is not affected.
    expect(await limits.admit('c2', u2)).toEqual({ allowed: true });
  });

  it('admits a bunch of frames that a client sent at its pace but that were read at once', async () => {
    // 20 requests/s for 2.5 s against a limit of 50/s, read in one go after a pause of the server.
    const limits = new RequestLimits({
      ratePerConnection: 50,
      ratePerUser: 100,
      abuseLimit: 20,
      abuseWindowMs: 10_000,
      burstSeconds: 2,
      burstWindowMs: 10_000,
    });
    for (let i = 0; i < 50; i++) expect(await limits.admit('c1', u1)).toEqual({ allowed: true });
    // A flood goes on past the allowance (50 + 100) and is refused.
    const flood = [];
    for (let i = 0; i < 150; i++) flood.push(await limits.admit('c1', u1));
    expect(flood.filter((a) => a.allowed)).toHaveLength(100);
    expect(flood.slice(100).every((a) => !a.allowed)).toBe(true);
  });

  it('limits a user over all their connections', async () => {
    const limits = new RequestLimits({
      ratePerConnection: 100,
      ratePerUser: 2,
      abuseLimit: 10,
      abuseWindowMs: 10_000,
      burstSeconds: 1,
      burstWindowMs: 10_000,
    });
    for (const connection of ['c1', 'c2', 'c3', 'c4']) {
      expect(await limits.admit(connection, u1)).toEqual({ allowed: true });
    }
    expect(await limits.admit('c5', u1)).toMatchObject({ allowed: false });
  });

  it('draws on the process’s one per-user budget: what the user spent on GraphQL counts here', async () => {
    const budget = new UserRequestBudget({
      ratePerUser: 2,
      burstSeconds: 1,
      burstWindowMs: 10_000,
    });
    const limits = new RequestLimits(
      {
        ratePerConnection: 100,
        ratePerUser: 100,
        abuseLimit: 10,
        abuseWindowMs: 10_000,
        burstSeconds: 1,
        burstWindowMs: 10_000,
      },
      budget,
    );
    // Four GraphQL requests (the GraphQL edge takes from the same budget) spend it all.
    for (let i = 0; i < 4; i++) expect(await budget.take(u1)).toBeUndefined();
    expect(await limits.admit('c1', u1)).toMatchObject({ allowed: false });
    expect(await limits.admit('c2', u2)).toEqual({ allowed: true });
  });
});

describe('upgradeCredential', () => {
  const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

  it('takes the Authorization header, or the bearer subprotocol beside ledgerline.v1', () => {
    expect(upgradeCredential(request({ authorization: 'Bearer abc' }))).toEqual({
      ok: true,
      authorization: 'Bearer abc',
    });
    expect(
      upgradeCredential(request({ 'sec-websocket-protocol': 'ledgerline.v1, bearer.a.b-c_d' })),
    ).toEqual({ ok: true, authorization: 'Bearer a.b-c_d' });
    expect(
      upgradeCredential(
        request({
          authorization: 'Bearer header',
          'sec-websocket-protocol': 'ledgerline.v1, bearer.sub',
        }),
      ),
    ).toEqual({ ok: true, authorization: 'Bearer header' });
    expect(upgradeCredential(request({}))).toEqual({ ok: true, authorization: undefined });
  });

  it('refuses subprotocols that do not include ledgerline.v1', () => {
    expect(upgradeCredential(request({ 'sec-websocket-protocol': 'bearer.abc' }))).toEqual({
      ok: false,
    });
    expect(
      upgradeCredential(request({ 'sec-websocket-protocol': 'graphql-transport-ws' })),
    ).toEqual({ ok: false });
  });
});
