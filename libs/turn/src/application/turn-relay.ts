import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import type { AllocationEndReason, TurnAllocationEndedV1 } from '../domain/allocation-ended.event';
import type { PeerPolicy } from '../domain/peer-policy';
import {
  Attr,
  StunClass,
  StunMethod,
  attribute,
  attributes,
  decodeChannelData,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeStun,
  encodeXorAddress,
  errorCodeValue,
  integrityMatches,
  isChannelNumber,
  isStunHeader,
  longTermKey,
  uint32Value,
  type StunMessage,
  type TransportAddress,
} from '../domain/stun-message';
import { acceptedPasswords, type TurnUsername } from '../domain/turn-credentials';

export interface TurnRelayOptions {
  /** Address the listener binds (UDP, and TCP when `tcp`). */
  readonly listenHost: string;
  /** 0: an ephemeral port (tests). */
  readonly port: number;
  readonly tcp: boolean;
  /** Address relay sockets bind; defaults to `listenHost`. */
  readonly relayHost?: string;
  /** IPv6 address relay sockets of IPv6 allocations bind; unset: IPv6 allocations get 440. */
  readonly relayHost6?: string;
  /** Address advertised as the relayed address (behind 1:1 NAT); defaults to the bound one. */
  readonly externalAddress?: string;
  readonly realm: string;
  /** Shared secrets: every one is accepted (rotation); `use-auth-secret` scheme. */
  readonly secrets: () => readonly string[];
  readonly peerPolicy: PeerPolicy;
  readonly quotas: {
    readonly allocationsPerUser: number;
    readonly allocationsTotal: number;
    /** Bytes per second each way through one allocation; 0: unlimited. */
    readonly bandwidthBytesPerSecond: number;
    readonly permissionsPerAllocation: number;
  };
  readonly lifetimes: {
    readonly defaultSeconds: number;
    readonly maxSeconds: number;
    readonly permissionSeconds: number;
    readonly channelSeconds: number;
    readonly nonceSeconds: number;
  };
  readonly now?: () => number;
  /** Called once per allocation when it ends; a rejection is logged, never thrown. */
  readonly onAllocationEnded?: (event: TurnAllocationEndedV1) => Promise<void> | void;
  readonly log?: {
    warn(fields: Record<string, unknown>): void;
  };
}

interface ClientEndpoint {
  readonly key: string;
  readonly transport: 'udp' | 'tcp';
  readonly address: string;
  readonly port: number;
  send(buf: Buffer): void;
}

interface Channel {
  readonly peer: TransportAddress;
  expiresAt: number;
}

interface Allocation {
  readonly id: string;
  readonly client: ClientEndpoint;
  readonly username: string;
  readonly user: TurnUsername;
  readonly userKey: string;
  readonly key: Buffer;
  readonly allocateTransactionId: string;
  readonly startedAt: number;
  readonly relay: UdpSocket;
  readonly family: 4 | 6;
  relayed?: TransportAddress;
  expiresAt: number;
  timer?: NodeJS.Timeout;
  readonly permissions: Map<string, number>;
  readonly peersEver: Set<string>;
  readonly channels: Map<number, Channel>;
  readonly channelByPeer: Map<string, number>;
  bytesFromClient: number;
  bytesToClient: number;
  packetsFromClient: number;
  packetsToClient: number;
  tokens: number;
  tokensAt: number;
  ended: boolean;
}

interface Authenticated {
  readonly username: string;
  readonly user: TurnUsername;
  readonly key: Buffer;
}

const MAX_TCP_BUFFER = 2 * 65_536;

/**
 * The built-in TURN relay (RFC 8656, UDP relaying, clients over UDP or TCP), written to replace the
 * defective packet path of node-turn 0.0.6 (ADR 0015). Everything a client sends goes through one
 * guarded entry point: malformed or truncated input is dropped, a bug in a handler drops the
 * datagram and never the process. Long-term credentials in the `use-auth-secret` scheme, compared
 * in constant time, expiry enforced; nonces bound to the client address and time-limited; the peer
 * policy on every permission and channel; quotas per user, in total and on bandwidth; one
 * `TurnAllocationEnded` per allocation.
 */
export class TurnRelay {
  private udp?: UdpSocket;
  private tcp?: TcpServer;
  private readonly tcpClients = new Set<TcpSocket>();
  private readonly allocations = new Map<string, Allocation>();
  private readonly perUser = new Map<string, number>();
  private readonly nonceSecret = randomBytes(32);
  private readonly now: () => number;
  private address?: { host: string; port: number };
  private stopped = false;
  /** Datagrams dropped as malformed or unexpected (observability and tests). */
  dropped = 0;

  constructor(private readonly options: TurnRelayOptions) {
    this.now = options.now ?? Date.now;
  }

  get listening(): { host: string; port: number } {
    if (!this.address) throw new Error('the relay is not started');
    return this.address;
  }

  /** The bound port once started; undefined before. */
  get listeningPort(): number | undefined {
    return this.address?.port;
  }

  get allocationCount(): number {
    return this.allocations.size;
  }

  async start(): Promise<{ host: string; port: number }> {
    // A free port (port 0) is the UDP socket's; TCP then listens on the same number, which some
    // other TCP socket on the machine may hold: pick another free port then, a few times over.
    const attempts = this.options.port === 0 && this.options.tcp ? 10 : 1;
    for (let attempt = 1; ; attempt += 1) {
      const udp = await this.bindUdp();
      const port = udp.address().port;
      try {
        if (this.options.tcp) this.tcp = await this.listenTcp(port);
      } catch (error) {
        udp.close();
        if (attempt < attempts && errorCode(error) === 'EADDRINUSE') continue;
        throw error;
      }
      this.udp = udp;
      this.address = { host: this.options.listenHost, port };
      return this.address;
    }
  }

  private async bindUdp(): Promise<UdpSocket> {
    const family = this.options.listenHost.includes(':') ? 'udp6' : 'udp4';
    const udp = createSocket({ type: family, reuseAddr: false });
    udp.on('message', (buf, rinfo) => {
      const client: ClientEndpoint = {
        key: `udp:${rinfo.address}:${rinfo.port}`,
        transport: 'udp',
        address: rinfo.address,
        port: rinfo.port,
        send: (out) => udp.send(out, rinfo.port, rinfo.address),
      };
      this.fromClient(buf, client);
    });
    udp.on('error', (error) =>
      this.options.log?.warn({ msg: 'turn listener error', code: errorCode(error) }),
    );
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(
        { address: this.options.listenHost, port: this.options.port, exclusive: true },
        () => {
          udp.off('error', reject);
          resolve();
        },
      );
    });
    return udp;
  }

  private async listenTcp(port: number): Promise<TcpServer> {
    const tcp = createServer((socket) => this.acceptTcp(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: this.options.listenHost, port, exclusive: true }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    return tcp;
  }

  /** Ends every allocation (each one audited, reason `shutdown`) and closes the listeners. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const ending = [...this.allocations.values()].map((a) => this.end(a, 'shutdown'));
    await Promise.all(ending);
    for (const socket of this.tcpClients) socket.destroy();
    await Promise.all([
      this.udp ? new Promise<void>((resolve) => this.udp!.close(() => resolve())) : undefined,
      this.tcp ? new Promise<void>((resolve) => this.tcp!.close(() => resolve())) : undefined,
    ]);
  }

  private acceptTcp(socket: TcpSocket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.tcpClients.add(socket);
    socket.setNoDelay(true);
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    const client: ClientEndpoint = {
      key: `tcp:${address}:${port}`,
      transport: 'tcp',
      address: address.startsWith('::ffff:') ? address.slice(7) : address,
      port,
      send: (out) => {
        if (!socket.destroyed) socket.write(out);
      },
    };
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        let frame: number;
        if (isStunHeader(pending)) {
          frame = 20 + pending.readUInt16BE(2);
        } else {
          if (!isChannelNumber(pending.readUInt16BE(0))) {
            socket.destroy(); // unframeable: the stream cannot be resynchronised
            return;
          }
          const length = pending.readUInt16BE(2);
          frame = 4 + length + ((4 - (length % 4)) % 4);
        }
        if (pending.length < frame) break;
        this.fromClient(pending.subarray(0, frame), client);
        pending = pending.subarray(frame);
      }
      if (pending.length > MAX_TCP_BUFFER) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.tcpClients.delete(socket);
      const allocation = this.allocations.get(client.key);
      if (allocation) void this.end(allocation, 'connection_closed');
    });
  }

  /** The one entry point for client input: nothing in here may take the relay down. */
  private fromClient(buf: Buffer, client: ClientEndpoint): void {
    try {
      if (buf.length < 4) {
        this.dropped++;
        return;
      }
      if (isStunHeader(buf)) {
        const message = decodeStun(buf);
        if (!message) {
          this.dropped++;
          return;
        }
        this.onStun(message, client);
      } else {
        this.onChannelData(buf, client);
      }
    } catch (error) {
      this.dropped++;
      this.options.log?.warn({ msg: 'turn input dropped after an error', code: errorCode(error) });
    }
  }

  private onStun(message: StunMessage, client: ClientEndpoint): void {
    if (message.cls === StunClass.indication) {
      if (message.method === StunMethod.send) this.onSend(message, client);
      else this.dropped++;
      return;
    }
    if (message.cls !== StunClass.request) {
      this.dropped++;
      return;
    }
    if (message.unknownRequired.length > 0) {
      const list = Buffer.alloc(message.unknownRequired.length * 2);
      message.unknownRequired.forEach((t, i) => list.writeUInt16BE(t, i * 2));
      this.reject(message, client, 420, 'Unknown Attribute', undefined, [
        [Attr.unknownAttributes, list],
      ]);
      return;
    }
    switch (message.method) {
      case StunMethod.binding:
        this.reply(message, client, StunClass.success, [
          [Attr.xorMappedAddress, encodeXorAddress(client, message.transactionId)],
        ]);
        return;
      case StunMethod.allocate:
      case StunMethod.refresh:
      case StunMethod.createPermission:
      case StunMethod.channelBind:
        break;
      default:
        this.reject(message, client, 400, 'Bad Request');
        return;
    }
    const auth = this.authenticate(message, client);
    if (!auth) return;
    const allocation = this.allocations.get(client.key);
    if (message.method === StunMethod.allocate) {
      this.onAllocate(message, client, auth, allocation);
      return;
    }
    if (!allocation || allocation.ended) {
      this.reject(message, client, 437, 'Allocation Mismatch', auth.key);
      return;
    }
    if (allocation.username !== auth.username) {
      this.reject(message, client, 441, 'Wrong Credentials', auth.key);
      return;
    }
    if (message.method === StunMethod.refresh) this.onRefresh(message, client, auth, allocation);
    else if (message.method === StunMethod.createPermission)
      this.onCreatePermission(message, client, auth, allocation);
    else this.onChannelBind(message, client, auth, allocation);
  }

  private authenticate(message: StunMessage, client: ClientEndpoint): Authenticated | undefined {
    const realm = this.options.realm;
    const challenge = (code: number, reason: string) =>
      this.reject(message, client, code, reason, undefined, [
        [Attr.realm, Buffer.from(realm, 'utf8')],
        [Attr.nonce, Buffer.from(this.nonceFor(client), 'utf8')],
      ]);
    if (!message.integrity) {
      challenge(401, 'Unauthorized');
      return undefined;
    }
    const usernameValue = attribute(message, Attr.username);
    const realmValue = attribute(message, Attr.realm);
    const nonceValue = attribute(message, Attr.nonce);
    if (!usernameValue || !realmValue || !nonceValue) {
      this.reject(message, client, 400, 'Bad Request');
      return undefined;
    }
    if (!this.nonceValid(nonceValue.toString('utf8'), client)) {
      challenge(438, 'Stale Nonce');
      return undefined;
    }
    const username = usernameValue.toString('utf8');
    const accepted =
      realmValue.toString('utf8') === realm
        ? acceptedPasswords(this.options.secrets(), username, new Date(this.now()))
        : undefined;
    if (accepted) {
      // Every candidate is checked, so the time taken does not say which secret matched.
      let key: Buffer | undefined;
      for (const password of accepted.passwords) {
        const candidate = longTermKey(username, realm, password);
        if (integrityMatches(message, candidate) && !key) key = candidate;
      }
      if (key) return { username, user: accepted.parsed, key };
    }
    challenge(401, 'Unauthorized');
    return undefined;
  }

  /** `<expiry hex>.<mac>`: bound to the client's address, valid for `nonceSeconds`. */
  private nonceFor(client: ClientEndpoint): string {
    const expiry = Math.floor(this.now() / 1000) + this.options.lifetimes.nonceSeconds;
    const stamp = expiry.toString(16);
    return `${stamp}.${this.nonceMac(stamp, client)}`;
  }

  private nonceValid(nonce: string, client: ClientEndpoint): boolean {
    const dot = nonce.indexOf('.');
    if (dot <= 0) return false;
    const stamp = nonce.slice(0, dot);
    if (!/^[0-9a-f]{1,12}$/.test(stamp)) return false;
    const expected = Buffer.from(this.nonceMac(stamp, client), 'utf8');
    const given = Buffer.from(nonce.slice(dot + 1), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    return parseInt(stamp, 16) * 1000 > this.now();
  }

  private nonceMac(stamp: string, client: ClientEndpoint): string {
    return createHmac('sha256', this.nonceSecret)
      .update(`${stamp}|${client.transport}|${client.address}|${client.port}`)
      .digest('base64url')
      .slice(0, 22);
  }

  private lifetimeFor(message: StunMessage): number {
    const { defaultSeconds, maxSeconds } = this.options.lifetimes;
    const value = attribute(message, Attr.lifetime);
    if (!value || value.length !== 4) return defaultSeconds;
    const requested = value.readUInt32BE(0);
    if (requested === 0) return 0;
    return Math.min(Math.max(requested, defaultSeconds), maxSeconds);
  }

  private onAllocate(
    message: StunMessage,
    client: ClientEndpoint,
    auth: Authenticated,
    existing: Allocation | undefined,
  ): void {
    const tid = message.transactionId.toString('hex');
    if (existing) {
      // A retransmitted Allocate gets the same answer; anything else on this 5-tuple is a mismatch.
      if (existing.allocateTransactionId === tid && existing.username === auth.username) {
        if (existing.relayed) this.allocateSuccess(message, existing);
        return;
      }
      this.reject(message, client, 437, 'Allocation Mismatch', auth.key);
      return;
    }
    const transport = attribute(message, Attr.requestedTransport);
    if (!transport || transport.length !== 4) {
      this.reject(message, client, 400, 'Bad Request', auth.key);
      return;
    }
    if (transport[0] !== 17) {
      this.reject(message, client, 442, 'Unsupported Transport Protocol', auth.key);
      return;
    }
    const familyValue = attribute(message, Attr.requestedAddressFamily);
    const family = familyValue?.[0] === 0x02 ? 6 : 4;
    if (
      (familyValue && familyValue[0] !== 0x01 && familyValue[0] !== 0x02) ||
      (family === 6 && !this.options.relayHost6)
    ) {
      this.reject(message, client, 440, 'Address Family not Supported', auth.key);
      return;
    }
    if (attribute(message, Attr.reservationToken)) {
      this.reject(message, client, 508, 'Insufficient Capacity', auth.key);
      return;
    }
    const { allocationsTotal, allocationsPerUser } = this.options.quotas;
    const userKey = `${auth.user.tenantId}\u0000${auth.user.userId}`;
    if (
      this.allocations.size >= allocationsTotal ||
      (this.perUser.get(userKey) ?? 0) >= allocationsPerUser
    ) {
      this.reject(message, client, 486, 'Allocation Quota Reached', auth.key);
      return;
    }
    const lifetime = this.lifetimeFor(message) || this.options.lifetimes.defaultSeconds;
    const relay = createSocket(family === 6 ? 'udp6' : 'udp4');
    const now = this.now();
    const allocation: Allocation = {
      id: randomUUID(),
      client,
      username: auth.username,
      user: auth.user,
      userKey,
      key: auth.key,
      allocateTransactionId: tid,
      startedAt: now,
      relay,
      family,
      expiresAt: now + lifetime * 1000,
      permissions: new Map(),
      peersEver: new Set(),
      channels: new Map(),
      channelByPeer: new Map(),
      bytesFromClient: 0,
      bytesToClient: 0,
      packetsFromClient: 0,
      packetsToClient: 0,
      tokens: this.options.quotas.bandwidthBytesPerSecond,
      tokensAt: now,
      ended: false,
    };
    this.allocations.set(client.key, allocation);
    this.perUser.set(userKey, (this.perUser.get(userKey) ?? 0) + 1);
    relay.on('message', (data, rinfo) => this.fromPeer(allocation, data, rinfo));
    relay.on('error', (error) => {
      this.options.log?.warn({
        msg: 'turn relay socket error',
        allocationId: allocation.id,
        code: errorCode(error),
      });
      void this.end(allocation, 'shutdown');
    });
    relay.once('listening', () => {
      if (allocation.ended) return;
      const bound = relay.address();
      allocation.relayed = {
        address: this.options.externalAddress ?? bound.address,
        port: bound.port,
        family,
      };
      this.schedule(allocation);
      this.allocateSuccess(message, allocation);
    });
    relay.bind({
      address:
        family === 6
          ? this.options.relayHost6!
          : (this.options.relayHost ?? this.options.listenHost),
      port: 0,
      exclusive: true,
    });
  }

  private allocateSuccess(message: StunMessage, allocation: Allocation): void {
    const remaining = Math.max(0, Math.round((allocation.expiresAt - this.now()) / 1000));
    this.reply(
      message,
      allocation.client,
      StunClass.success,
      [
        [Attr.xorRelayedAddress, encodeXorAddress(allocation.relayed!, message.transactionId)],
        [Attr.lifetime, uint32Value(remaining)],
        [Attr.xorMappedAddress, encodeXorAddress(allocation.client, message.transactionId)],
      ],
      allocation.key,
    );
  }

  private schedule(allocation: Allocation): void {
    if (allocation.timer) clearTimeout(allocation.timer);
    allocation.timer = setTimeout(
      () => void this.end(allocation, 'expired'),
      Math.max(0, allocation.expiresAt - this.now()),
    );
    allocation.timer.unref();
  }

  private onRefresh(
    message: StunMessage,
    client: ClientEndpoint,
    auth: Authenticated,
    a: Allocation,
  ): void {
    const family = attribute(message, Attr.requestedAddressFamily);
    if (family && family[0] !== (a.family === 6 ? 0x02 : 0x01)) {
      this.reject(message, client, 443, 'Peer Address Family Mismatch', auth.key);
      return;
    }
    const lifetime = this.lifetimeFor(message);
    if (lifetime === 0) {
      this.reply(message, client, StunClass.success, [[Attr.lifetime, uint32Value(0)]], auth.key);
      void this.end(a, 'deallocated');
      return;
    }
    a.expiresAt = this.now() + lifetime * 1000;
    this.schedule(a);
    this.reply(
      message,
      client,
      StunClass.success,
      [[Attr.lifetime, uint32Value(lifetime)]],
      auth.key,
    );
  }

  /** The peers of a request, or the error to answer it with. */
  private peersOf(
    message: StunMessage,
    a: Allocation,
  ): TransportAddress[] | { code: number; reason: string } {
    const values = attributes(message, Attr.xorPeerAddress);
    if (values.length === 0) return { code: 400, reason: 'Bad Request' };
    const peers: TransportAddress[] = [];
    for (const value of values) {
      const peer = decodeXorAddress(value, message.transactionId);
      if (!peer) return { code: 400, reason: 'Bad Request' };
      peers.push(peer);
    }
    // Policy before family: a refused address is refused in every spelling.
    for (const peer of peers) {
      if (!this.options.peerPolicy.decide(peer.address).allowed)
        return { code: 403, reason: 'Forbidden' };
    }
    if (peers.some((p) => p.family !== a.family))
      return { code: 443, reason: 'Peer Address Family Mismatch' };
    return peers;
  }

  private onCreatePermission(
    message: StunMessage,
    client: ClientEndpoint,
    auth: Authenticated,
    a: Allocation,
  ): void {
    const peers = this.peersOf(message, a);
    if (!Array.isArray(peers)) {
      this.reject(message, client, peers.code, peers.reason, auth.key);
      return;
    }
    const fresh = new Set(peers.map((p) => p.address).filter((ip) => !a.permissions.has(ip)));
    if (a.permissions.size + fresh.size > this.options.quotas.permissionsPerAllocation) {
      this.reject(message, client, 508, 'Insufficient Capacity', auth.key);
      return;
    }
    const until = this.now() + this.options.lifetimes.permissionSeconds * 1000;
    for (const peer of peers) this.permit(a, peer.address, until);
    this.reply(message, client, StunClass.success, [], auth.key);
  }

  private permit(a: Allocation, ip: string, until: number): void {
    a.permissions.set(ip, until);
    a.peersEver.add(ip);
  }

  private onChannelBind(
    message: StunMessage,
    client: ClientEndpoint,
    auth: Authenticated,
    a: Allocation,
  ): void {
    const numberValue = attribute(message, Attr.channelNumber);
    const peers = this.peersOf(message, a);
    if (!numberValue || numberValue.length !== 4) {
      this.reject(message, client, 400, 'Bad Request', auth.key);
      return;
    }
    if (!Array.isArray(peers)) {
      this.reject(message, client, peers.code, peers.reason, auth.key);
      return;
    }
    const channel = numberValue.readUInt16BE(0);
    const peer = peers[0]!;
    const peerKey = `${peer.address}:${peer.port}`;
    const now = this.now();
    const bound = a.channels.get(channel);
    const boundToPeer = a.channelByPeer.get(peerKey);
    if (
      peers.length !== 1 ||
      !isChannelNumber(channel) ||
      (bound && bound.expiresAt > now && `${bound.peer.address}:${bound.peer.port}` !== peerKey) ||
      (boundToPeer !== undefined &&
        boundToPeer !== channel &&
        (a.channels.get(boundToPeer)?.expiresAt ?? 0) > now)
    ) {
      this.reject(message, client, 400, 'Bad Request', auth.key);
      return;
    }
    if (
      !a.permissions.has(peer.address) &&
      a.permissions.size >= this.options.quotas.permissionsPerAllocation
    ) {
      this.reject(message, client, 508, 'Insufficient Capacity', auth.key);
      return;
    }
    if (bound && `${bound.peer.address}:${bound.peer.port}` !== peerKey) {
      a.channelByPeer.delete(`${bound.peer.address}:${bound.peer.port}`);
    }
    a.channels.set(channel, {
      peer,
      expiresAt: now + this.options.lifetimes.channelSeconds * 1000,
    });
    a.channelByPeer.set(peerKey, channel);
    this.permit(a, peer.address, now + this.options.lifetimes.permissionSeconds * 1000);
    this.reply(message, client, StunClass.success, [], auth.key);
  }

  private onSend(message: StunMessage, client: ClientEndpoint): void {
    const a = this.allocations.get(client.key);
    const peerValue = attribute(message, Attr.xorPeerAddress);
    const data = attribute(message, Attr.data);
    if (!a || !a.relayed || !peerValue || !data) {
      this.dropped++;
      return;
    }
    const peer = decodeXorAddress(peerValue, message.transactionId);
    if (!peer || peer.family !== a.family) {
      this.dropped++;
      return;
    }
    this.toPeer(a, peer, data);
  }

  private onChannelData(buf: Buffer, client: ClientEndpoint): void {
    const frame = decodeChannelData(buf);
    const a = this.allocations.get(client.key);
    const channel = frame && a?.channels.get(frame.channel);
    if (!frame || !a || !channel || channel.expiresAt <= this.now()) {
      this.dropped++;
      return;
    }
    this.toPeer(a, channel.peer, frame.data);
  }

  private toPeer(a: Allocation, peer: TransportAddress, data: Buffer): void {
    const now = this.now();
    if ((a.permissions.get(peer.address) ?? 0) <= now || !this.takeBandwidth(a, data.length, now)) {
      this.dropped++;
      return;
    }
    a.bytesFromClient += data.length;
    a.packetsFromClient++;
    a.relay.send(data, peer.port, peer.address);
  }

  private fromPeer(a: Allocation, data: Buffer, rinfo: { address: string; port: number }): void {
    try {
      const now = this.now();
      if (
        a.ended ||
        (a.permissions.get(rinfo.address) ?? 0) <= now ||
        !this.takeBandwidth(a, data.length, now)
      ) {
        this.dropped++;
        return;
      }
      const channel = a.channelByPeer.get(`${rinfo.address}:${rinfo.port}`);
      if (channel !== undefined && (a.channels.get(channel)?.expiresAt ?? 0) > now) {
        a.client.send(encodeChannelData(channel, data, a.client.transport === 'tcp'));
      } else {
        const tid = randomBytes(12);
        a.client.send(
          encodeStun({
            method: StunMethod.data,
            cls: StunClass.indication,
            transactionId: tid,
            attributes: [
              [Attr.xorPeerAddress, encodeXorAddress(rinfo, tid)],
              [Attr.data, data],
            ],
          }),
        );
      }
      a.bytesToClient += data.length;
      a.packetsToClient++;
    } catch (error) {
      this.dropped++;
      this.options.log?.warn({
        msg: 'turn peer datagram dropped after an error',
        code: errorCode(error),
      });
    }
  }

  /** A token bucket per allocation, both directions together, one second of burst. */
  private takeBandwidth(a: Allocation, bytes: number, now: number): boolean {
    const rate = this.options.quotas.bandwidthBytesPerSecond;
    if (rate <= 0) return true;
    a.tokens = Math.min(rate, a.tokens + ((now - a.tokensAt) / 1000) * rate);
    a.tokensAt = now;
    if (a.tokens < bytes) return false;
    a.tokens -= bytes;
    return true;
  }

  private async end(a: Allocation, reason: AllocationEndReason): Promise<void> {
    if (a.ended) return;
    a.ended = true;
    if (a.timer) clearTimeout(a.timer);
    if (this.allocations.get(a.client.key) === a) this.allocations.delete(a.client.key);
    const count = (this.perUser.get(a.userKey) ?? 1) - 1;
    if (count > 0) this.perUser.set(a.userKey, count);
    else this.perUser.delete(a.userKey);
    try {
      a.relay.close();
    } catch {
      // already closed (a bind error)
    }
    const endedAt = this.now();
    const event: TurnAllocationEndedV1 = {
      relay: 'built-in',
      allocationId: a.id,
      tenantId: a.user.tenantId,
      userId: a.user.userId,
      transport: a.client.transport,
      clientAddress: `${a.client.address}:${a.client.port}`,
      ...(a.relayed ? { relayedAddress: `${a.relayed.address}:${a.relayed.port}` } : {}),
      peers: [...a.peersEver].sort(),
      startedAt: new Date(a.startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      durationMs: endedAt - a.startedAt,
      bytesFromClient: a.bytesFromClient,
      bytesToClient: a.bytesToClient,
      packetsFromClient: a.packetsFromClient,
      packetsToClient: a.packetsToClient,
      reason,
    };
    try {
      await this.options.onAllocationEnded?.(event);
    } catch (error) {
      this.options.log?.warn({
        msg: 'turn allocation audit failed',
        allocationId: a.id,
        code: errorCode(error),
      });
    }
  }

  private reply(
    message: StunMessage,
    client: ClientEndpoint,
    cls: (typeof StunClass)['success' | 'error'],
    attrs: (readonly [number, Buffer])[],
    key?: Buffer,
  ): void {
    client.send(
      encodeStun({
        method: message.method,
        cls,
        transactionId: message.transactionId,
        attributes: attrs,
        ...(key ? { integrityKey: key } : {}),
        fingerprint: message.fingerprint,
      }),
    );
  }

  private reject(
    message: StunMessage,
    client: ClientEndpoint,
    code: number,
    reason: string,
    key?: Buffer,
    extra: (readonly [number, Buffer])[] = [],
  ): void {
    this.reply(
      message,
      client,
      StunClass.error,
      [[Attr.errorCode, errorCodeValue(code, reason)], ...extra],
      key,
    );
  }
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string')
    return error.code;
  return error instanceof Error ? error.name : 'unknown';
}
