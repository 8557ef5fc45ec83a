import WebSocket from 'ws';
import { startBroadcastServer, type BroadcastServer } from './broadcast-server';

// The realtime bench's reference server with real `ws` clients: it must do what the bench counts
// on (ack every send, forward it once to every other member of the room and to nobody else),
// or the reference figures measure something else.

interface Frame {
  readonly type: string;
  readonly ref?: string | null;
  readonly ok?: boolean;
  readonly [key: string]: unknown;
}

class Client {
  readonly frames: Frame[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString()) as Frame));
  }

  static async open(server: BroadcastServer): Promise<Client> {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/realtime`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Client(socket);
  }

  async request(op: string, fields: Record<string, unknown> = {}): Promise<Frame> {
    const ref = `${op}-${this.frames.length}-${Math.random()}`;
    this.socket.send(JSON.stringify({ v: 1, op, ref, ...fields }));
    return this.waitFor((f) => f.type === 'reply' && f.ref === ref);
  }

  async waitFor(predicate: (f: Frame) => boolean): Promise<Frame> {
    for (let i = 0; i < 500; i++) {
      const found = this.frames.find(predicate);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no matching frame among ${JSON.stringify(this.frames)}`);
  }

  events(): Frame[] {
    return this.frames.filter((f) => f.type === 'event');
  }
}

describe('the realtime bench reference (bare ws broadcast server)', () => {
  let server: BroadcastServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    server = await startBroadcastServer();
  });

  afterAll(async () => {
    for (const c of clients) c.socket.terminate();
    await server.close();
  });

  async function member(room: string | undefined): Promise<Client> {
    const c = await Client.open(server);
    clients.push(c);
    expect(await c.request('hello', { deviceId: `d-${clients.length}` })).toMatchObject({
      ok: true,
    });
    const conversations = room === undefined ? [] : [{ conversationId: room, revision: 0 }];
    expect(await c.request('sync', { conversations, discover: false })).toMatchObject({
      ok: true,
      conversations: conversations.map(({ conversationId }) => ({ conversationId, status: 'ok' })),
    });
    return c;
  }

  it('acks a send and forwards it once to every other member of the room, and to no one else', async () => {
    const [alice, bob, carol] = [await member('r1'), await member('r1'), await member('r1')];
    const outsider = await member('r2');
    const idle = await member(undefined);

    const ack = await alice.request('send', {
      conversationId: 'r1',
      clientMessageId: 'm-1',
      text: 'hello',
    });
    expect(ack).toMatchObject({ ok: true, conversationId: 'r1', clientMessageId: 'm-1' });
    expect(typeof ack['messageId']).toBe('string');

    for (const c of [bob, carol]) {
      const event = await c.waitFor((f) => f.type === 'event');
      expect(event).toMatchObject({
        conversationId: 'r1',
        clientMessageId: 'm-1',
        messageId: ack['messageId'],
        text: 'hello',
      });
    }
    // A round trip on each connection orders it after anything the send could have caused.
    for (const c of [alice, bob, carol, outsider, idle]) await c.request('hello');
    expect(bob.events()).toHaveLength(1);
    expect(carol.events()).toHaveLength(1);
    expect(alice.events()).toHaveLength(0);
    expect(outsider.events()).toHaveLength(0);
    expect(idle.events()).toHaveLength(0);
  });

  it('answers an unknown operation with a typed error, ignores a frame that is not JSON, and stays open', async () => {
    const c = await member('r3');
    c.socket.send('not json');
    expect(await c.request('teleport')).toMatchObject({
      ok: false,
      error: { code: 'unknown_op', retryable: false },
    });
    expect(await c.request('hello')).toMatchObject({ ok: true });
    expect(c.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('forgets a closed member: nothing is sent to it, and the room still works', async () => {
    const [a, b] = [await member('r4'), await member('r4')];
    const gone = await member('r4');
    gone.socket.terminate();
    await new Promise((r) => gone.socket.once('close', r));
    for (let i = 0; i < 50 && server.connections() > clients.length - 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(
      await a.request('send', { conversationId: 'r4', clientMessageId: 'x', text: 't' }),
    ).toMatchObject({ ok: true });
    expect(await b.waitFor((f) => f.type === 'event')).toMatchObject({ clientMessageId: 'x' });
  });
});
