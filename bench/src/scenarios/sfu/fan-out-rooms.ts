import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import {
  JanusSfu,
  MediasoupSfu,
  locateMediasoupWorker,
  type SfuEngineName,
  type SfuParticipantRef,
  type SfuPort,
} from '@ledgerline/sfu';
import {
  JanusTestPeer,
  MediasoupTestPeer,
  janusUnavailable,
  startJanus,
} from '@ledgerline/sfu/testing';

/**
 * One publisher forwarding to a growing number of subscribers, through one forwarder: an SFU
 * engine with real WebRTC peers, or the plain UDP reference. The ladder drives every kind alike.
 */
export interface FanOutRoom {
  readonly label: string;
  readonly subscribers: number;
  /** Joins that failed once and succeeded when retried. */
  readonly retried: number;
  /** The processes whose CPU time is the forwarder's. */
  forwarderPids(): readonly number[];
  /** Adds subscribers until there are `total`, each receiving what the publisher sends. */
  growTo(total: number): Promise<void>;
  /** The publisher stops / starts sending (connections stay up). */
  pause(): void;
  resume(): void;
  /** Packets each subscriber should have received so far: what was sent of what it consumes. */
  expectedPerSubscriber(): number;
  /** Packets received so far, all subscribers together. */
  received(): number;
  close(): Promise<void>;
}

/**
 * An SFU engine as the fan-out bench needs it, whatever it is: whether it can run here, and a room
 * on it with a publisher. New engines are one more entry in FAN_OUT_ENGINES.
 */
export interface FanOutEngine {
  readonly name: SfuEngineName;
  /** Why the engine cannot be measured in this build or on this machine; undefined if it can. */
  unavailable(): string | undefined;
  /** Starts the engine and a room on it whose publisher is publishing. */
  open(roomId: string, maxSubscribers: number): Promise<FanOutRoom>;
}

/** A subscriber's readiness: connected, consuming, media arriving. */
const FIRST_PACKET_MS = 30_000;

/** mediasoup through its SfuPort adapter, one worker (a room lives on one worker). */
const mediasoup: FanOutEngine = {
  name: 'mediasoup',
  unavailable() {
    const binary = locateMediasoupWorker(process.env['MEDIASOUP_WORKER_BIN'] || undefined);
    if (!binary) return 'no mediasoup worker binary (npm run media:worker)';
    if (!binary.dtlsProbed)
      return `the mediasoup worker at ${binary.path} did not pass the DTLS probe`;
    return undefined;
  },
  async open(roomId, maxSubscribers) {
    const binary = locateMediasoupWorker(process.env['MEDIASOUP_WORKER_BIN'] || undefined)!;
    const port = await MediasoupSfu.start({
      workerBin: binary.path,
      workers: 1,
      listenIp: '127.0.0.1',
      minPort: 40_000,
      maxPort: 49_999,
      connectTimeoutMs: 30_000,
      logLevel: 'none',
    });
    try {
      await port.createRoom(roomId, { maxParticipants: maxSubscribers + 1 });
      const publisher = await MediasoupTestPeer.join(port, { roomId, participantId: 'pub' });
      const producers = await publisher.publish();
      /** Connected, consuming audio and the lowest video layer, both arriving. */
      const receive = async (peer: MediasoupTestPeer, ref: SfuParticipantRef): Promise<void> => {
        await peer.connectRecv();
        const audio = await peer.consume(producers.audioProducerId);
        const video = await peer.consume(producers.videoProducerId);
        // The lowest simulcast layer for every subscriber, so what each should get is known.
        await port.request(ref, {
          method: 'set-preferred-layers',
          data: { consumerId: video.consumerId, spatialLayer: 0, temporalLayer: 0 },
        });
        await peer.until(
          () => audio.packets > 0 && video.packets > 0,
          `${ref.participantId} receives audio and video`,
          FIRST_PACKET_MS,
        );
      };
      return new SfuFanOutRoom('mediasoup', port, () => port.workerPids(), roomId, publisher, {
        subscribe: async (ref) => {
          const peer = await MediasoupTestPeer.join(port, ref, { listenOnly: true });
          try {
            await receive(peer, ref);
          } catch (error) {
            await peer.close();
            throw error;
          }
          return peer;
        },
      });
    } catch (error) {
      await port.close();
      throw error;
    }
  },
};

/**
 * Janus (Debian's, VideoRoom) started for the run on loopback with a generated configuration,
 * through its SfuPort adapter; its one process is the forwarder whose CPU is measured.
 */
const janus: FanOutEngine = {
  name: 'janus',
  unavailable: () => janusUnavailable(),
  async open(roomId, maxSubscribers) {
    const server = await startJanus();
    let port: JanusSfu | undefined;
    try {
      port = await JanusSfu.start({
        url: server.url,
        adminUrl: server.adminUrl,
        adminSecret: server.adminSecret,
        connectTimeoutMs: 30_000,
      });
      const sfu = port;
      await sfu.createRoom(roomId, { maxParticipants: maxSubscribers + 1 });
      const publisher = await JanusTestPeer.join(sfu, { roomId, participantId: 'pub' });
      const producers = await publisher.publish();
      const room = new SfuFanOutRoom('janus', sfu, () => [server.pid], roomId, publisher, {
        afterClose: () => server.stop(),
        subscribe: async (ref) => {
          const peer = await JanusTestPeer.join(sfu, ref, { listenOnly: true });
          try {
            const audio = await peer.consume(producers.audioProducerId);
            const video = await peer.consume(producers.videoProducerId);
            // The lowest simulcast layer for every subscriber, so what each should get is known.
            await sfu.request(ref, {
              method: 'set-preferred-layers',
              data: { consumerId: video.consumerId, spatialLayer: 0, temporalLayer: 0 },
            });
            await peer.until(
              () => audio.packets > 0 && video.packets > 0,
              `${ref.participantId} receives audio and video`,
              FIRST_PACKET_MS,
            );
          } catch (error) {
            await peer.close();
            throw error;
          }
          return peer;
        },
      });
      return room;
    } catch (error) {
      await port?.close();
      await server.stop();
      throw error;
    }
  },
};

/** The engines `sfu fan-out` measures, side by side in one run. */
export const FAN_OUT_ENGINES: readonly FanOutEngine[] = [mediasoup, janus];

/**
 * What the room needs of an engine's werift test peer (MediasoupTestPeer; the Janus test peer
 * offers the same counters).
 */
export interface FanOutPeer {
  readonly sentAudio: number;
  /** Video packets sent per simulcast layer. */
  readonly sentVideo: readonly number[];
  readonly receivedPackets: number;
  stopSending(): void;
  resumeSending(): void;
  close(): Promise<void>;
}

interface Subscribing {
  /** A listen-only subscriber of audio and the lowest video layer, media already arriving. */
  subscribe(ref: SfuParticipantRef): Promise<FanOutPeer>;
  /** After the engine is closed (e.g. stop the engine's own process). */
  afterClose?(): Promise<void>;
}

/** A room on an engine: a publishing test peer, listen-only subscribers consuming both streams. */
export class SfuFanOutRoom implements FanOutRoom {
  private readonly peers: FanOutPeer[] = [];

  constructor(
    readonly label: string,
    private readonly port: SfuPort,
    private readonly pids: () => readonly number[],
    private readonly roomId: string,
    private readonly publisher: FanOutPeer,
    private readonly subscribing: Subscribing,
  ) {}

  get subscribers(): number {
    return this.peers.length;
  }

  forwarderPids(): readonly number[] {
    return this.pids();
  }

  /** Joins that failed once and were retried (a werift peer's ICE can fail on a busy machine). */
  retried = 0;

  async growTo(total: number): Promise<void> {
    while (this.peers.length < total) {
      const ref = { roomId: this.roomId, participantId: `sub-${this.peers.length}` };
      try {
        this.peers.push(await this.subscribing.subscribe(ref));
      } catch {
        // Once more as a new participant; a second failure ends the ladder (the caller says so).
        this.retried += 1;
        await this.port.leave(ref).catch(() => undefined);
        const again = { ...ref, participantId: `${ref.participantId}-again` };
        this.peers.push(await this.subscribing.subscribe(again));
      }
    }
  }

  pause(): void {
    this.publisher.stopSending();
  }

  resume(): void {
    this.publisher.resumeSending();
  }

  expectedPerSubscriber(): number {
    return this.publisher.sentAudio + this.publisher.sentVideo[0]!;
  }

  received(): number {
    let packets = 0;
    for (const peer of this.peers) packets += peer.receivedPackets;
    return packets;
  }

  async close(): Promise<void> {
    await Promise.all([this.publisher, ...this.peers].map((peer) => peer.close()));
    await this.port.close();
    await this.subscribing.afterClose?.();
  }
}

/** SSRCs of the reference publisher: audio, then video layers 0, 1, 2. */
const REF_SSRCS = [1111, 2222, 3333, 4444] as const;
/** Packet sizes as the test peer sends them (RTP header, extension, payload; no SRTP tag). */
const AUDIO_BYTES = 12 + 8 + 60;
const VIDEO_BYTES = 12 + 36;

/**
 * The reference: the same packets at the same rates (audio every 20 ms, three video layers every
 * 40 ms), unencrypted, from a plain UDP publisher in this process through the plain UDP forward
 * (udp-forward.main.ts, a process of its own) to plain UDP subscribers that count them.
 */
export async function openUdpReference(): Promise<FanOutRoom> {
  const forwarder = await startForwarder([REF_SSRCS[0], REF_SSRCS[1]]);
  const publisher = createSocket('udp4');
  await new Promise<void>((resolve) => publisher.bind(0, '127.0.0.1', () => resolve()));
  return new UdpFanOutRoom(forwarder, publisher);
}

interface Forwarder {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

class UdpFanOutRoom implements FanOutRoom {
  readonly label = 'plain UDP forward';
  readonly retried = 0;
  private readonly sockets: Socket[] = [];
  private receivedPackets = 0;
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private sentAudio = 0;
  private sentLayer0 = 0;
  private readonly packets = REF_SSRCS.map((ssrc, i) => {
    const packet = Buffer.alloc(i === 0 ? AUDIO_BYTES : VIDEO_BYTES);
    packet[0] = 0x80;
    packet.writeUInt32BE(ssrc, 8);
    return packet;
  });

  constructor(
    private readonly forwarder: Forwarder,
    private readonly publisher: Socket,
  ) {}

  get subscribers(): number {
    return this.sockets.length;
  }

  forwarderPids(): readonly number[] {
    return [this.forwarder.pid];
  }

  async growTo(total: number): Promise<void> {
    while (this.sockets.length < total) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the UDP forward did not answer')), 5_000);
        socket.once('message', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.send('SUB', this.forwarder.port, '127.0.0.1');
      });
      socket.on('message', () => {
        this.receivedPackets += 1;
      });
      this.sockets.push(socket);
    }
  }

  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  resume(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.tick += 1;
      this.send(0);
      this.sentAudio += 1;
      if (this.tick % 2 === 0) {
        for (const layer of [1, 2, 3]) this.send(layer);
        this.sentLayer0 += 1;
      }
    }, 20);
  }

  private send(index: number): void {
    const packet = this.packets[index]!;
    packet.writeUInt16BE(this.tick & 0xffff, 2);
    this.publisher.send(packet, this.forwarder.port, '127.0.0.1');
  }

  expectedPerSubscriber(): number {
    return this.sentAudio + this.sentLayer0;
  }

  received(): number {
    return this.receivedPackets;
  }

  async close(): Promise<void> {
    this.pause();
    for (const socket of [this.publisher, ...this.sockets]) socket.close();
    await this.forwarder.stop();
  }
}

async function startForwarder(ssrcs: readonly number[]): Promise<Forwarder> {
  const child = spawn(
    process.execPath,
    [join(__dirname, 'udp-forward.main.js'), ...ssrcs.map(String)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error('the UDP forward exited')));
  });
  return { port, pid: child.pid!, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
