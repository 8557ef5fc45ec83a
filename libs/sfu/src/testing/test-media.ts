import { randomBytes } from 'node:crypto';
import { RtcpSenderInfo, RtcpSrPacket, RtpHeader, type RTCDtlsTransport } from 'werift';

/**
 * The media the SFU contract's test peers send, engine-neutral: written straight into a werift
 * DTLS/SRTP session, every 20 ms an Opus-sized packet with an audio-level header extension (the
 * engines' active-speaker detection reads it) and, every 40 ms, a VP8 key frame on each of three
 * simulcast SSRCs, each layer's frames carrying their own width so a receiver can tell which
 * layer it is being sent.
 */

/** Frame widths of simulcast layers 0, 1, 2. */
export const LAYER_WIDTHS = [320, 640, 1280] as const;

export interface TestMediaOptions {
  readonly audioSsrc: number;
  /** Simulcast SSRCs, lowest layer first. */
  readonly videoSsrcs: readonly number[];
  readonly audioPayloadType: number;
  readonly videoPayloadType: number;
  /** The negotiated id of urn:ietf:params:rtp-hdrext:ssrc-audio-level. */
  readonly audioLevelId: number;
  /** Loudness to send now: 0 is the loudest (-dBov), 127 silence. */
  readonly audioLevel: () => number;
  /**
   * Sequence numbers and the tick, kept by the caller so that sending again after a stop goes on
   * where it stopped (the same SSRCs, sequence numbers continuing).
   */
  readonly counters?: TestMediaCounters;
  /** Called after each packet handed to the session: `layer` for video, undefined for audio. */
  readonly onSent: (layer?: number) => void;
}

export interface TestMediaCounters {
  seq: number;
  tick: number;
  readonly videoSeq: number[];
}

export function newTestMediaCounters(): TestMediaCounters {
  return { seq: 0, tick: 0, videoSeq: [0, 0, 0] };
}

/**
 * One peer's outgoing test media: started once its connection is up, stopped and resumed at will
 * (the same SSRCs, sequence numbers going on), with what it sent counted per stream.
 */
export class TestMediaSender {
  /** RTP packets sent so far (audio and every video layer). */
  sent = 0;
  /** Of which audio, and video per simulcast layer (0, 1, 2). */
  sentAudio = 0;
  readonly sentVideo = [0, 0, 0];
  private timer?: NodeJS.Timeout;
  private readonly counters = newTestMediaCounters();

  constructor(
    private readonly dtls: RTCDtlsTransport,
    private readonly options: Omit<TestMediaOptions, 'counters' | 'onSent'>,
    /** Called after each packet handed to the session. */
    private readonly onSent: () => void,
  ) {}

  /** Sends (again); does nothing while sending. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = startTestMedia(this.dtls, {
      ...this.options,
      counters: this.counters,
      onSent: (layer) => {
        this.sent += 1;
        if (layer === undefined) this.sentAudio += 1;
        else this.sentVideo[layer]! += 1;
        this.onSent();
      },
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Starts sending; clear the returned timer to stop. */
export function startTestMedia(dtls: RTCDtlsTransport, options: TestMediaOptions): NodeJS.Timeout {
  const counters = options.counters ?? newTestMediaCounters();
  const { videoSeq } = counters;
  const timer = setInterval(() => {
    counters.tick += 1;
    counters.seq = (counters.seq + 1) & 0xffff;
    const { seq, tick } = counters;
    const audio = new RtpHeader({
      payloadType: options.audioPayloadType,
      ssrc: options.audioSsrc,
      sequenceNumber: seq,
      timestamp: (tick * 960) >>> 0,
      extension: true,
      extensions: [
        { id: options.audioLevelId, payload: Buffer.from([0x80 | options.audioLevel()]) },
      ],
    });
    void dtls.sendRtp(randomBytes(60), audio).catch(() => undefined);
    options.onSent();
    if (tick % 2 === 0) {
      options.videoSsrcs.forEach((ssrc, layer) => {
        videoSeq[layer] = (videoSeq[layer]! + 1) & 0xffff;
        const header = new RtpHeader({
          payloadType: options.videoPayloadType,
          ssrc,
          sequenceNumber: videoSeq[layer],
          timestamp: (tick * 1800) >>> 0,
          marker: true,
        });
        void dtls.sendRtp(vp8KeyFrame(tick, LAYER_WIDTHS[layer]!), header).catch(() => undefined);
        options.onSent(layer);
      });
    }
    // Sender reports every half second, as browsers send them: an SFU lines up the timestamps of
    // simulcast streams by their reports before it switches a subscriber between layers.
    if (tick % 25 === 1) {
      const reports = [
        senderReport(options.audioSsrc, (tick * 960) >>> 0, tick),
        ...options.videoSsrcs.map((ssrc, layer) =>
          senderReport(ssrc, (tick * 1800) >>> 0, videoSeq[layer]!),
        ),
      ];
      void dtls.sendRtcp(reports).catch(() => undefined);
    }
  }, 20);
  timer.unref();
  return timer;
}

/** Seconds between 1900 (NTP's epoch) and 1970. */
const NTP_EPOCH_OFFSET = 2_208_988_800n;

/** An RTCP sender report for one stream, stamped with the wall clock in NTP format. */
function senderReport(ssrc: number, rtpTimestamp: number, packetCount: number): RtcpSrPacket {
  const nowMs = BigInt(Date.now());
  const seconds = nowMs / 1000n + NTP_EPOCH_OFFSET;
  const fraction = ((nowMs % 1000n) << 32n) / 1000n;
  return new RtcpSrPacket({
    ssrc,
    senderInfo: new RtcpSenderInfo({
      ntpTimestamp: (seconds << 32n) | fraction,
      rtpTimestamp,
      packetCount,
      octetCount: packetCount * 40,
    }),
  });
}

/**
 * One RTP packet holding a whole VP8 key frame header: payload descriptor with a 15-bit picture
 * id, TL0PICIDX and TID (what mediasoup's simulcast rewriting needs), then the key frame's start
 * code and dimensions.
 */
export function vp8KeyFrame(pictureId: number, width: number): Buffer {
  const pid = pictureId & 0x7fff;
  const descriptor = Buffer.from([
    0x90,
    0xe0,
    0x80 | (pid >> 8),
    pid & 0xff,
    pictureId & 0xff,
    0x20,
  ]);
  const frame = Buffer.alloc(30);
  frame[0] = 0x10; // key frame (P=0), version 0, show_frame
  frame.writeUInt8(0x9d, 3);
  frame.writeUInt8(0x01, 4);
  frame.writeUInt8(0x2a, 5);
  frame.writeUInt16LE(width, 6);
  frame.writeUInt16LE((width * 9) / 16, 8);
  return Buffer.concat([descriptor, frame]);
}

/** The width of a VP8 key frame in an RTP payload (as vp8KeyFrame writes it), else undefined. */
export function vp8KeyFrameWidth(payload: Buffer): number | undefined {
  if (payload.length < 16 || (payload[0]! & 0x80) === 0) return undefined;
  let offset = 1;
  const ext = payload[offset++]!;
  if (ext & 0x80) offset += payload[offset]! & 0x80 ? 2 : 1;
  if (ext & 0x40) offset += 1;
  if (ext & 0x30) offset += 1;
  if (payload[offset]! & 0x01 || payload[offset + 3] !== 0x9d) return undefined;
  return payload.readUInt16LE(offset + 6) & 0x3fff;
}
