import { randomBytes } from 'node:crypto';
import { type RTCPeerConnection, type RtpPacket } from 'werift';
import type { SfuJoinReply, SfuParticipantRef, SfuPort } from '../sfu.port';
import { admitTestParticipant, loopbackPeerConnection } from './loopback-peer';
import { TestMediaSender, vp8KeyFrameWidth } from './test-media';
import { PacketWatchers } from './watchers';

/**
 * A programmatic WebRTC client for the Janus engine, in place of a browser with janus.js: werift
 * does ICE, DTLS and SRTP for real against Janus (ICE-lite on loopback). Publishing sends an SDP
 * offer with a sendonly audio and a sendonly video section, the video one declaring three
 * simulcast SSRCs (`a=ssrc-group:SIM`), and writes the shared test media (test-media.ts) through
 * the SRTP session; consuming takes Janus's offer for one stream, answers it with `start`, and
 * counts what arrives on that connection.
 */
const OPUS_PT = 111;
const VP8_PT = 96;

export interface JanusReceivedMedia {
  readonly consumerId: string;
  readonly kind: 'audio' | 'video';
  packets: number;
  /** Width of the last VP8 key frame received (video only). */
  lastWidth?: number;
}

type Jsep = { type: 'offer' | 'answer'; sdp: string };

export class JanusTestPeer {
  private publisher?: RTCPeerConnection;
  private readonly subscribers: RTCPeerConnection[] = [];
  private sender?: TestMediaSender;
  private readonly received: JanusReceivedMedia[] = [];
  private readonly watchers = new PacketWatchers();
  /** Loudness sent: 0 is the loudest (-dBov), 127 silence. */
  audioLevel = 127;

  /** RTP packets sent so far (audio and every video layer). */
  get sent(): number {
    return this.sender?.sent ?? 0;
  }
  /** Of which audio, and video per simulcast layer (0, 1, 2). */
  get sentAudio(): number {
    return this.sender?.sentAudio ?? 0;
  }
  get sentVideo(): readonly number[] {
    return this.sender?.sentVideo ?? [0, 0, 0];
  }
  /** RTP packets received so far, over every stream consumed. */
  get receivedPackets(): number {
    return this.received.reduce((sum, media) => sum + media.packets, 0);
  }

  private constructor(
    private readonly port: SfuPort,
    readonly ref: SfuParticipantRef,
    readonly join: SfuJoinReply,
  ) {}

  static async join(
    port: SfuPort,
    ref: SfuParticipantRef,
    options: { listenOnly?: boolean } = {},
  ): Promise<JanusTestPeer> {
    return new JanusTestPeer(port, ref, await admitTestParticipant(port, ref, options));
  }

  /** The publisher feed, standing for a send transport (none for listen-only participants). */
  get sendTransportId(): string | undefined {
    const feed = this.join.payload['feedId'];
    return typeof feed === 'number' ? String(feed) : undefined;
  }

  /** Nothing to do: with Janus each subscription brings its own connection. */
  connectRecv(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Publishes audio and three-layer VP8 and sends RTP until closed. `beforeConnect` runs once
   * Janus answered the offer and before this side takes the answer (so before its connection can
   * come up): what a test checks of a publish whose media is not up yet.
   */
  async publish(
    beforeConnect?: () => Promise<void>,
  ): Promise<{ audioProducerId: string; videoProducerId: string }> {
    if (this.sendTransportId === undefined) throw new Error('listen-only: nothing to publish');
    const pc = newPeerConnection();
    this.publisher = pc;
    const audio = pc.addTransceiver('audio', { direction: 'sendonly' });
    const video = pc.addTransceiver('video', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const layers = [video.sender.ssrc, ...[1, 2].map(() => randomBytes(4).readUInt32BE() >>> 1)];
    const offer = withSimulcast(pc.localDescription!.sdp, layers, this.ref.participantId);
    const reply = await this.port.request(this.ref, {
      method: 'publish',
      data: { jsep: { type: 'offer', sdp: offer } },
    });
    const answer = reply.data['jsep'] as Jsep;
    await beforeConnect?.();
    await pc.setRemoteDescription(answer);
    // Every candidate was in the offer: without this Janus waits for more before giving up on ICE.
    await this.port.request(this.ref, {
      method: 'trickle',
      data: { candidate: { completed: true } },
    });
    await connected(pc);
    // The audio-level extension id Janus agreed to (it echoes the offer's).
    const levelId = /a=extmap:(\d+)(?:\/\w+)? urn:ietf:params:rtp-hdrext:ssrc-audio-level/.exec(
      answer.sdp,
    );
    this.sender = new TestMediaSender(
      audio.dtlsTransport,
      {
        audioSsrc: audio.sender.ssrc,
        videoSsrcs: layers,
        audioPayloadType: OPUS_PT,
        videoPayloadType: VP8_PT,
        audioLevelId: Number(levelId?.[1] ?? 1),
        audioLevel: () => this.audioLevel,
      },
      () => {
        this.watchers.notify();
      },
    );
    this.sender.start();
    const producers = reply.data['producers'] as { producerId: string; kind: string }[];
    const of = (kind: string) => {
      const producer = producers.find((p) => p.kind === kind);
      if (!producer) throw new Error(`Janus published no ${kind}`);
      return producer.producerId;
    };
    // Published means media is on its way: let the first packets go out.
    await this.until(() => this.sent >= 30, 'the first packets are sent');
    return { audioProducerId: of('audio'), videoProducerId: of('video') };
  }

  /** Subscribes to a published stream on a connection of its own; its packets are then counted. */
  async consume(producerId: string): Promise<JanusReceivedMedia> {
    const reply = await this.port.request(this.ref, { method: 'consume', data: { producerId } });
    const consumerId = reply.data['consumerId'] as string;
    const media: JanusReceivedMedia = {
      consumerId,
      kind: reply.data['kind'] as 'audio' | 'video',
      packets: 0,
    };
    this.received.push(media);
    const pc = newPeerConnection();
    this.subscribers.push(pc);
    await pc.setRemoteDescription(reply.data['jsep'] as Jsep);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    const transceiver = pc.getTransceivers()[0]!;
    transceiver.dtlsTransport.onRtp.subscribe((rtp) => this.count(media, rtp));
    await this.port.request(this.ref, {
      method: 'start',
      data: { consumerId, jsep: { type: 'answer', sdp: pc.localDescription!.sdp } },
    });
    await this.port.request(this.ref, {
      method: 'trickle',
      data: { consumerId, candidate: { completed: true } },
    });
    await connected(pc);
    return media;
  }

  /**
   * Stops sending and closes every peer connection the way a browser does: a DTLS close_notify
   * first (werift's close() sends none), so Janus hangs up at once.
   */
  async close(): Promise<void> {
    this.sender?.stop();
    const all = [this.publisher, ...this.subscribers].filter((pc) => pc !== undefined);
    await Promise.all(all.map((pc) => sendCloseNotify(pc)));
    await Promise.all(all.map((pc) => pc.close()));
  }

  /** Loses one subscription's connection without a word (as a lost path would), the rest staying up. */
  async loseSubscription(consumerId: string): Promise<void> {
    const pc = this.subscribers[this.received.findIndex((m) => m.consumerId === consumerId)];
    if (!pc) throw new Error(`no subscription ${consumerId}`);
    await pc.close();
  }

  /** Closes every peer connection without a word, as a crashed client or a lost network would. */
  async vanish(): Promise<void> {
    this.sender?.stop();
    await Promise.all([this.publisher?.close(), ...this.subscribers.map((pc) => pc.close())]);
  }

  /** Stops sending RTP but keeps the connections up. */
  stopSending(): void {
    this.sender?.stop();
  }

  /** Sends RTP again after stopSending (the same SSRCs, sequence numbers going on). */
  resumeSending(): void {
    this.sender?.start();
  }

  private count(media: JanusReceivedMedia, rtp: RtpPacket): void {
    media.packets += 1;
    const width = vp8KeyFrameWidth(rtp.payload);
    if (media.kind === 'video' && width !== undefined) media.lastWidth = width;
    this.watchers.notify();
  }

  /**
   * Resolves once `check` holds, looked at again on every packet received or sent; rejects at a
   * generous backstop naming `what`.
   */
  until(check: () => boolean, what: string, backstopMs = 120_000): Promise<void> {
    return this.watchers.until(check, what, backstopMs);
  }
}

/** What of werift 0.25's DTLS socket writing one alert record needs (not in its public types). */
interface DtlsSocketInternals {
  readonly sessionType: number;
  readonly dtls: {
    recordSequenceNumber: number;
    epoch: number;
    version: { major: number; minor: number };
  };
  readonly cipher: {
    readonly cipher?: {
      encrypt(
        sessionType: number,
        data: Buffer,
        header: { type: number; version: number; epoch: number; sequenceNumber: number },
      ): Buffer;
    };
  };
  readonly transport: { send(data: Buffer): Promise<void> };
}

/**
 * Writes a DTLS close_notify alert (RFC 5246 §7.2.1: level warning, description 0) through the
 * connection's DTLS session. Best effort: a connection not (or no longer) up sends nothing.
 */
async function sendCloseNotify(pc: RTCPeerConnection): Promise<void> {
  const transport = pc.getTransceivers()[0]?.dtlsTransport;
  const socket = transport?.dtls as unknown as DtlsSocketInternals | undefined;
  const cipher = socket?.cipher.cipher;
  if (!socket || !cipher || transport?.state !== 'connected') return;
  const ALERT = 21;
  const sequenceNumber = ++socket.dtls.recordSequenceNumber;
  const { version, epoch } = socket.dtls;
  const body = cipher.encrypt(socket.sessionType, Buffer.from([1, 0]), {
    type: ALERT,
    version: (version.major << 8) | version.minor,
    epoch,
    sequenceNumber,
  });
  const header = Buffer.alloc(13);
  header.writeUInt8(ALERT, 0);
  header.writeUInt8(version.major, 1);
  header.writeUInt8(version.minor, 2);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequenceNumber, 5, 6);
  header.writeUInt16BE(body.length, 11);
  await socket.transport.send(Buffer.concat([header, body])).catch(() => undefined);
}

function newPeerConnection(): RTCPeerConnection {
  return loopbackPeerConnection({
    opusPayloadType: OPUS_PT,
    vp8PayloadType: VP8_PT,
    audioLevel: true,
  });
}

/** Waits until the local description carries the gathered candidates (Janus does not trickle). */
async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') {
        unSubscribe();
        resolve();
      }
    });
  });
}

async function connected(pc: RTCPeerConnection): Promise<void> {
  if (pc.connectionState === 'connected') return;
  await new Promise<void>((resolve, reject) => {
    const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        unSubscribe();
        resolve();
      } else if (state === 'failed' || state === 'closed') {
        unSubscribe();
        reject(new Error(`werift connection ${state}`));
      }
    });
  });
}

/**
 * The offer with its video section declaring simulcast the way Janus reads it without RIDs: an
 * `a=ssrc-group:SIM` of the layers' SSRCs, lowest layer first, each with a cname.
 */
function withSimulcast(sdp: string, layers: readonly number[], cname: string): string {
  const sections = sdp.split(/\r\n(?=m=)/);
  return sections
    .map((section) => {
      if (!section.startsWith('m=video')) return section;
      const lines = section.split('\r\n').filter((line) => !line.startsWith('a=ssrc'));
      while (lines.at(-1) === '') lines.pop();
      lines.push(`a=ssrc-group:SIM ${layers.join(' ')}`);
      for (const ssrc of layers) lines.push(`a=ssrc:${ssrc} cname:${cname}`);
      return `${lines.join('\r\n')}\r\n`;
    })
    .join('\r\n');
}
