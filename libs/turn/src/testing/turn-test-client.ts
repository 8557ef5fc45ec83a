import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  Attr,
  StunClass,
  StunMethod,
  attribute,
  decodeChannelData,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeStun,
  encodeXorAddress,
  longTermKey,
  uint32Value,
  type StunMessage,
  type TransportAddress,
} from '../domain/stun-message';

export interface TurnAnswer {
  readonly ok: boolean;
  /** The ERROR-CODE of an error response. */
  readonly code?: number;
  readonly message: StunMessage;
}

/**
 * A small TURN client over UDP for the tests that turnutils_uclient cannot express (a permission
 * for a chosen address, a raw datagram, a forged credential). Speaks the same wire format to the
 * built-in relay and to coturn.
 */
export class TurnTestClient {
  private readonly socket: Socket = createSocket('udp4');
  private readonly waiting = new Map<string, (m: StunMessage) => void>();
  private realm?: string;
  private nonce?: string;
  private key?: Buffer;
  readonly received: { data: Buffer; peer?: TransportAddress; channel?: number }[] = [];
  private onReceive?: () => void;

  constructor(
    private readonly server: { host: string; port: number },
    private readonly username: string,
    private readonly password: string,
  ) {
    this.socket.on('message', (buf) => {
      const msg = decodeStun(buf);
      if (msg) {
        if (msg.cls === StunClass.indication && msg.method === StunMethod.data) {
          const peer = attribute(msg, Attr.xorPeerAddress);
          this.received.push({
            data: attribute(msg, Attr.data) ?? Buffer.alloc(0),
            ...(peer ? { peer: decodeXorAddress(peer, msg.transactionId) } : {}),
          });
          this.onReceive?.();
          return;
        }
        this.waiting.get(msg.transactionId.toString('hex'))?.(msg);
        return;
      }
      const frame = decodeChannelData(buf);
      if (frame) {
        this.received.push({ data: Buffer.from(frame.data), channel: frame.channel });
        this.onReceive?.();
      }
    });
  }

  async open(): Promise<this> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    return this;
  }

  close(): void {
    this.socket.close();
  }

  /** Sends raw bytes to the relay (malformed-input tests). */
  raw(buf: Buffer): void {
    this.socket.send(buf, this.server.port, this.server.host);
  }

  /** Sends a request, answering one 401/438 challenge with the credentials. */
  async request(method: number, attrs: (readonly [number, Buffer])[]): Promise<TurnAnswer> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const auth: (readonly [number, Buffer])[] =
        this.realm && this.nonce
          ? [
              [Attr.username, Buffer.from(this.username, 'utf8')],
              [Attr.realm, Buffer.from(this.realm, 'utf8')],
              [Attr.nonce, Buffer.from(this.nonce, 'utf8')],
            ]
          : [];
      const answer = await this.exchange(
        method,
        [...attrs, ...auth],
        this.realm ? this.key : undefined,
      );
      const code = answer.code;
      if (code === 401 || code === 438) {
        const realm = attribute(answer.message, Attr.realm)?.toString('utf8');
        const nonce = attribute(answer.message, Attr.nonce)?.toString('utf8');
        if (!realm || !nonce || (code === 401 && this.realm)) return answer;
        this.realm = realm;
        this.nonce = nonce;
        this.key = longTermKey(this.username, realm, this.password);
        continue;
      }
      return answer;
    }
    throw new Error('no answer after the challenge');
  }

  async exchange(
    method: number,
    attrs: (readonly [number, Buffer])[],
    key?: Buffer,
  ): Promise<TurnAnswer> {
    const transactionId = randomBytes(12);
    const out = encodeStun({
      method,
      cls: StunClass.request,
      transactionId,
      attributes: attrs,
      ...(key ? { integrityKey: key } : {}),
      fingerprint: true,
    });
    const id = transactionId.toString('hex');
    const message = await new Promise<StunMessage>((resolve, reject) => {
      let tries = 0;
      const send = () => {
        if (tries++ >= 7) {
          this.waiting.delete(id);
          reject(new Error('no answer from the relay'));
          return;
        }
        this.socket.send(out, this.server.port, this.server.host);
        timer = setTimeout(send, 250 * 2 ** Math.min(tries, 4));
      };
      let timer: NodeJS.Timeout | undefined;
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(m);
      });
      send();
    });
    const error = attribute(message, Attr.errorCode);
    const code = error && error.length >= 4 ? error[2]! * 100 + error[3]! : undefined;
    return {
      ok: message.cls === StunClass.success,
      ...(code !== undefined ? { code } : {}),
      message,
    };
  }

  async allocate(
    lifetime?: number,
    family: 4 | 6 = 4,
  ): Promise<TurnAnswer & { relayed?: TransportAddress }> {
    const answer = await this.request(StunMethod.allocate, [
      [Attr.requestedTransport, Buffer.from([17, 0, 0, 0])],
      ...(family === 6 ? [[Attr.requestedAddressFamily, Buffer.from([2, 0, 0, 0])] as const] : []),
      ...(lifetime !== undefined ? [[Attr.lifetime, uint32Value(lifetime)] as const] : []),
    ]);
    const relayed = attribute(answer.message, Attr.xorRelayedAddress);
    return relayed
      ? { ...answer, relayed: decodeXorAddress(relayed, answer.message.transactionId) }
      : answer;
  }

  refresh(lifetime: number): Promise<TurnAnswer> {
    return this.request(StunMethod.refresh, [[Attr.lifetime, uint32Value(lifetime)]]);
  }

  /** A permission for an address given as text in any IPv4 or IPv6 spelling. */
  createPermission(address: string, port = 9): Promise<TurnAnswer> {
    return this.withTransaction(
      (tid) => [[Attr.xorPeerAddress, encodeXorAddress({ address, port }, tid)]],
      StunMethod.createPermission,
    );
  }

  channelBind(channel: number, address: string, port: number): Promise<TurnAnswer> {
    return this.withTransaction(
      (tid) => [
        [Attr.channelNumber, Buffer.from([channel >> 8, channel & 0xff, 0, 0])],
        [Attr.xorPeerAddress, encodeXorAddress({ address, port }, tid)],
      ],
      StunMethod.channelBind,
    );
  }

  /** Sends data to a peer through a bound channel. */
  channelData(channel: number, data: Buffer): void {
    this.socket.send(encodeChannelData(channel, data, false), this.server.port, this.server.host);
  }

  /** A Send indication to a peer. */
  sendIndication(address: string, port: number, data: Buffer): void {
    const transactionId = randomBytes(12);
    this.socket.send(
      encodeStun({
        method: StunMethod.send,
        cls: StunClass.indication,
        transactionId,
        attributes: [
          [Attr.xorPeerAddress, encodeXorAddress({ address, port }, transactionId)],
          [Attr.data, data],
        ],
        fingerprint: true,
      }),
      this.server.port,
      this.server.host,
    );
  }

  /** Resolves once `count` relayed datagrams arrived. */
  async receivedAtLeast(count: number, timeoutMs = 10_000): Promise<void> {
    if (this.received.length >= count) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.received.length} of ${count} arrived`)),
        timeoutMs,
      );
      this.onReceive = () => {
        if (this.received.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }

  // XOR-PEER-ADDRESS depends on the transaction id: the request is built for the id it is sent with.
  private async withTransaction(
    build: (tid: Buffer) => (readonly [number, Buffer])[],
    method: number,
  ): Promise<TurnAnswer> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await this.requestWith(method, build);
      if (answer.code !== 438) return answer;
    }
    return this.requestWith(method, build);
  }

  private async requestWith(
    method: number,
    build: (tid: Buffer) => (readonly [number, Buffer])[],
  ): Promise<TurnAnswer> {
    const transactionId = randomBytes(12);
    const attrs = [
      ...build(transactionId),
      [Attr.username, Buffer.from(this.username, 'utf8')] as const,
      [Attr.realm, Buffer.from(this.realm ?? '', 'utf8')] as const,
      [Attr.nonce, Buffer.from(this.nonce ?? '', 'utf8')] as const,
    ];
    const out = encodeStun({
      method,
      cls: StunClass.request,
      transactionId,
      attributes: attrs,
      ...(this.key ? { integrityKey: this.key } : {}),
      fingerprint: true,
    });
    const id = transactionId.toString('hex');
    const message = await new Promise<StunMessage>((resolve, reject) => {
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      const send = () => {
        if (tries++ >= 7) {
          this.waiting.delete(id);
          reject(new Error('no answer from the relay'));
          return;
        }
        this.socket.send(out, this.server.port, this.server.host);
        timer = setTimeout(send, 250 * 2 ** Math.min(tries, 4));
      };
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(m);
      });
      send();
    });
    const error = attribute(message, Attr.errorCode);
    const code = error && error.length >= 4 ? error[2]! * 100 + error[3]! : undefined;
    if (code === 438) {
      const nonce = attribute(message, Attr.nonce)?.toString('utf8');
      if (nonce) this.nonce = nonce;
    }
    return {
      ok: message.cls === StunClass.success,
      ...(code !== undefined ? { code } : {}),
      message,
    };
  }
}
