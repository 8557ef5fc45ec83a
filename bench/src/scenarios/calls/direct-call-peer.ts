import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loopbackPeerConnection } from '@ledgerline/sfu/testing';
import { MediaStreamTrack, RtpHeader, RtpPacket } from 'werift';

const OPUS_PT = 111;
/** How long a set-up may take before it counts as failed (a backstop, not a budget). */
const BACKSTOP_MS = 30_000;

/**
 * One side of a 1:1 (peer-to-peer) call as a programmatic WebRTC client: werift does ICE, DTLS and
 * SRTP for real on loopback; each side sends Opus-sized RTP every 20 ms from the moment it exists
 * (packets written before the connection is up are dropped, as a browser's would be) and notes
 * when the first RTP packet from the other side arrives.
 *
 * The SDP carries every candidate (it is sent once gathering is complete; no trickle): loopback
 * host candidates only, no STUN or TURN, so the set-up is ICE + DTLS between two local peers and
 * whatever the signalling path adds.
 */
export class DirectCallPeer {
  private readonly pc = loopbackPeerConnection({ opusPayloadType: OPUS_PT });
  private readonly track = new MediaStreamTrack({ kind: 'audio' });
  private readonly timer: NodeJS.Timeout;
  /** performance.now() when the first RTP packet from the other side arrived. */
  readonly firstRtp: Promise<number>;

  constructor() {
    this.pc.addTransceiver(this.track, { direction: 'sendrecv' });
    this.firstRtp = new Promise<number>((resolve, reject) => {
      const backstop = setTimeout(
        () => reject(new Error('no RTP arrived from the other side')),
        BACKSTOP_MS,
      );
      this.pc.onTrack.subscribe((remote) => {
        remote.onReceiveRtp.subscribe(() => {
          clearTimeout(backstop);
          resolve(performance.now());
        });
      });
    });
    // A caller awaiting firstRtp only after set-up must not see an unhandled rejection meanwhile.
    this.firstRtp.catch(() => undefined);
    const ssrc = randomBytes(4).readUInt32BE();
    let seq = 0;
    this.timer = setInterval(() => {
      seq = (seq + 1) & 0xffff;
      const header = new RtpHeader({
        payloadType: OPUS_PT,
        ssrc,
        sequenceNumber: seq,
        timestamp: (seq * 960) >>> 0,
      });
      this.track.writeRtp(new RtpPacket(header, randomBytes(60)));
    }, 20);
    this.timer.unref();
  }

  /** The offer, with every candidate. */
  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.gathered();
  }

  /** Takes the other side's offer; answers with every candidate. */
  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.gathered();
  }

  /** Takes the other side's answer. */
  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.pc.close();
  }

  private async gathered(): Promise<string> {
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((state) => {
          if (state !== 'complete') return;
          unSubscribe();
          resolve();
        });
      });
    }
    return this.pc.localDescription!.sdp;
  }
}
