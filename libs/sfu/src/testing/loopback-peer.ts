import { RTCPeerConnection, RTCRtpCodecParameters, useAudioLevelIndication } from 'werift';
import type { SfuJoinReply, SfuParticipantRef, SfuPort } from '../sfu.port';

/**
 * A werift peer connection for tests on this machine: IPv4 UDP host candidates (127.0.0.1
 * included), one bundled transport, Opus (and VP8 when asked) at the payload types the caller's
 * SDP uses, and the audio-level extension when the engine reads it.
 */
export function loopbackPeerConnection(options: {
  readonly opusPayloadType: number;
  readonly vp8PayloadType?: number;
  readonly audioLevel?: boolean;
}): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: {
      audio: [
        new RTCRtpCodecParameters({
          mimeType: 'audio/opus',
          clockRate: 48000,
          channels: 2,
          payloadType: options.opusPayloadType,
        }),
      ],
      ...(options.vp8PayloadType === undefined
        ? {}
        : {
            video: [
              new RTCRtpCodecParameters({
                mimeType: 'video/VP8',
                clockRate: 90000,
                payloadType: options.vp8PayloadType,
              }),
            ],
          }),
    },
    ...(options.audioLevel ? { headerExtensions: { audio: [useAudioLevelIndication()] } } : {}),
    iceUseIpv6: false,
    iceUseTcp: false,
    iceTcpPassive: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    bundlePolicy: 'max-bundle',
  });
}

/** Admits a test participant through the port, named after its participant id. */
export function admitTestParticipant(
  port: SfuPort,
  ref: SfuParticipantRef,
  options: { listenOnly?: boolean } = {},
): Promise<SfuJoinReply> {
  return port.join(ref, {
    userId: `user-${ref.participantId}`,
    deviceId: `device-${ref.participantId}`,
    listenOnly: options.listenOnly ?? false,
  });
}
