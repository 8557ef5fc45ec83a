import { randomBytes } from 'node:crypto';
import { type RTCPeerConnection, type RTCDtlsTransport, type RtpPacket } from 'werift';
import type { SfuJoinReply, SfuParticipantRef, SfuPort } from '../sfu.port';
import { admitTestParticipant, loopbackPeerConnection } from './loopback-peer';
import { TestMediaSender, vp8KeyFrameWidth } from './test-media';
import { PacketWatchers } from './watchers';

/**
 * Where the peer's signalling requests go: the engine's SfuPort itself, or anything relaying them
 * to it (the bench's group join sends them as `callSfu` frames through the realtime protocol).
 */
export type SfuSignalling = Pick<SfuPort, 'request'>;

/**
 * A programmatic WebRTC client for the mediasoup engine, in place of a browser with
 * mediasoup-client: werift does ICE, DTLS and SRTP for real against the engine's transports (the
 * remote description is built from the transport's parameters, ICE-lite), and the peer writes its
 * own RTP through that SRTP session: Opus with an audio-level header extension (the active-speaker
 * observer reads it) and VP8 key frames on three simulcast SSRCs, each layer's frames carrying
 * their own width so a receiver can tell which layer it is being sent.
 */
const OPUS_PT = 100;
const VP8_PT = 101;
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const AUDIO_LEVEL_ID = 10;

interface TransportInfo {
  id: string;
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: {
    foundation: string;
    priority: number;
    address: string;
    port: number;
    protocol: string;
  }[];
  dtlsParameters: { fingerprints: { algorithm: string; value: string }[] };
}

export interface ReceivedMedia {
  readonly consumerId: string;
  readonly kind: 'audio' | 'video';
  readonly ssrc: number;
  packets: number;
  /** Width of the last VP8 key frame received (video only). */
  lastWidth?: number;
}

export const CLIENT_RTP_CAPABILITIES = {
  codecs: [
    {
      kind: 'audio',
      mimeType: 'audio/opus',
      clockRate: 48000,
      channels: 2,
      preferredPayloadType: OPUS_PT,
    },
    { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: VP8_PT },
  ],
  headerExtensions: [],
};

export class MediasoupTestPeer {
  private send?: { pc: RTCPeerConnection; dtls: RTCDtlsTransport };
  private recv?: { pc: RTCPeerConnection; dtls: RTCDtlsTransport };
  private sender?: TestMediaSender;
  private readonly received = new Map<number, ReceivedMedia>();
  private readonly watchers = new PacketWatchers();
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
  /** Loudness sent: 0 is the loudest (-dBov), 127 silence. */
  audioLevel = 127;

  private constructor(
    private readonly port: SfuSignalling,
    readonly ref: SfuParticipantRef,
    readonly join: SfuJoinReply,
  ) {}

  /** Joins through the port (not yet connecting any transport). */
  static async join(
    port: SfuPort,
    ref: SfuParticipantRef,
    options: { listenOnly?: boolean } = {},
  ): Promise<MediasoupTestPeer> {
    return new MediasoupTestPeer(port, ref, await admitTestParticipant(port, ref, options));
  }

  /**
   * A peer already admitted elsewhere (e.g. by the server's `callJoin`, whose reply carries the
   * engine's join payload), signalling through `signalling`; `ref` only names it.
   */
  static admitted(
    signalling: SfuSignalling,
    ref: SfuParticipantRef,
    reply: SfuJoinReply,
  ): MediasoupTestPeer {
    return new MediasoupTestPeer(signalling, ref, reply);
  }

  /** RTP packets received so far, over every media consumed. */
  get receivedPackets(): number {
    let packets = 0;
    for (const media of this.received.values()) packets += media.packets;
    return packets;
  }

  get sendTransportId(): string | undefined {
    return (this.join.payload['sendTransport'] as TransportInfo | undefined)?.id;
  }

  /** Connects the receive transport (ICE + DTLS); media arriving on it is counted per SSRC. */
  async connectRecv(): Promise<void> {
    const info = this.join.payload['recvTransport'] as TransportInfo;
    this.recv = await this.connect(info, 'recvonly');
    this.recv.dtls.onRtp.subscribe((rtp) => this.count(rtp));
  }

  /** Connects the send transport and produces audio and three-layer VP8, sending RTP until closed. */
  async publish(): Promise<{ audioProducerId: string; videoProducerId: string }> {
    const info = this.join.payload['sendTransport'] as TransportInfo | undefined;
    if (!info) throw new Error('no send transport (listen-only)');
    this.send = await this.connect(info, 'sendonly');
    const audioSsrc = randomBytes(4).readUInt32BE() >>> 1;
    const videoSsrcs = [1, 2, 3].map((i) => (audioSsrc + i * 1000) >>> 0);
    const audio = await this.port.request(this.ref, {
      method: 'produce',
      data: {
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }],
          headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_ID }],
          encodings: [{ ssrc: audioSsrc }],
          rtcp: { cname: this.ref.participantId },
        },
      },
    });
    const video = await this.port.request(this.ref, {
      method: 'produce',
      data: {
        kind: 'video',
        rtpParameters: {
          codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000 }],
          encodings: videoSsrcs.map((ssrc) => ({ ssrc })),
          rtcp: { cname: this.ref.participantId },
        },
      },
    });
    this.sender = new TestMediaSender(
      this.send.dtls,
      {
        audioSsrc,
        videoSsrcs,
        audioPayloadType: OPUS_PT,
        videoPayloadType: VP8_PT,
        audioLevelId: AUDIO_LEVEL_ID,
        audioLevel: () => this.audioLevel,
      },
      () => {
        this.watchers.notify();
      },
    );
    this.sender.start();
    return {
      audioProducerId: audio.data['producerId'] as string,
      videoProducerId: video.data['producerId'] as string,
    };
  }

  /** Consumes a producer and resumes it; its packets are then counted. */
  async consume(producerId: string): Promise<ReceivedMedia> {
    const reply = await this.port.request(this.ref, {
      method: 'consume',
      data: { producerId, rtpCapabilities: CLIENT_RTP_CAPABILITIES },
    });
    const consumerId = reply.data['consumerId'] as string;
    const rtp = reply.data['rtpParameters'] as { encodings: { ssrc: number }[] };
    const ssrc = rtp.encodings[0]!.ssrc;
    const media: ReceivedMedia = {
      consumerId,
      kind: reply.data['kind'] as 'audio' | 'video',
      ssrc,
      packets: 0,
    };
    this.received.set(ssrc, media);
    await this.port.request(this.ref, { method: 'resume-consumer', data: { consumerId } });
    return media;
  }

  /** Stops sending and closes both peer connections (the SFU sees the transports go). */
  async close(): Promise<void> {
    this.sender?.stop();
    await Promise.all([this.send?.pc.close(), this.recv?.pc.close()]);
  }

  /** Stops sending RTP but keeps the connections up. */
  stopSending(): void {
    this.sender?.stop();
  }

  /** Sends RTP again after stopSending (the same SSRCs, sequence numbers going on). */
  resumeSending(): void {
    this.sender?.start();
  }

  private count(rtp: RtpPacket): void {
    const media = this.received.get(rtp.header.ssrc);
    if (!media) return;
    media.packets += 1;
    const width = vp8KeyFrameWidth(rtp.payload);
    if (media.kind === 'video' && width !== undefined) media.lastWidth = width;
    this.watchers.notify();
  }

  /**
   * Resolves once `check` holds, looked at again on every packet received or sent; rejects at a
   * generous backstop naming `what` (a silent stream is the failure, not slowness).
   */
  until(check: () => boolean, what: string, backstopMs = 120_000): Promise<void> {
    return this.watchers.until(check, what, backstopMs);
  }

  private async connect(
    info: TransportInfo,
    direction: 'sendonly' | 'recvonly',
  ): Promise<{ pc: RTCPeerConnection; dtls: RTCDtlsTransport }> {
    const pc = loopbackPeerConnection({ opusPayloadType: OPUS_PT });
    const transceiver = pc.addTransceiver('audio', { direction });
    await pc.setLocalDescription(await pc.createOffer());
    const fingerprint = /a=fingerprint:(\S+) (\S+)/.exec(pc.localDescription!.sdp);
    if (!fingerprint) throw new Error('werift offered no DTLS fingerprint');
    await pc.setRemoteDescription({
      type: 'answer',
      sdp: remoteAnswer(info, transceiver.mid ?? '0', direction),
    });
    // ICE-lite remote: werift is the controlling agent and, as offerer answered with
    // setup:passive, the DTLS client.
    await this.port.request(this.ref, {
      method: 'connect-transport',
      data: {
        transportId: info.id,
        dtlsParameters: {
          role: 'server',
          fingerprints: [{ algorithm: fingerprint[1]!, value: fingerprint[2]! }],
        },
      },
    });
    await new Promise<void>((resolve, reject) => {
      if (pc.connectionState === 'connected') return resolve();
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
    return { pc, dtls: transceiver.dtlsTransport };
  }
}

/** The SFU's side as an SDP answer to werift's single-m-section offer. */
function remoteAnswer(
  info: TransportInfo,
  mid: string,
  localDirection: 'sendonly' | 'recvonly',
): string {
  const fingerprint = info.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
  const candidates = info.iceCandidates
    .filter((c) => c.protocol === 'udp')
    .map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address} ${c.port} typ host`);
  return [
    'v=0',
    'o=ledgerline-sfu 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mid}`,
    `m=audio 9 UDP/TLS/RTP/SAVPF ${OPUS_PT}`,
    'c=IN IP4 127.0.0.1',
    `a=mid:${mid}`,
    localDirection === 'sendonly' ? 'a=recvonly' : 'a=sendonly',
    `a=ice-ufrag:${info.iceParameters.usernameFragment}`,
    `a=ice-pwd:${info.iceParameters.password}`,
    ...candidates,
    'a=end-of-candidates',
    `a=fingerprint:sha-256 ${fingerprint.value}`,
    'a=setup:active',
    'a=rtcp-mux',
    `a=rtpmap:${OPUS_PT} opus/48000/2`,
    '',
  ].join('\r\n');
}
