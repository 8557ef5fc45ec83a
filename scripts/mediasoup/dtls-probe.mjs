// Does this mediasoup worker complete a real DTLS handshake? One WebRTC transport on 127.0.0.1,
// one werift peer connection (ICE, then DTLS with werift as client). Exit 0: connected; 3: the
// worker died during the handshake; 4: no outcome within 30 s. Used by scripts/media-worker.sh
// and by the SFU contract suite (which skips its media tests, saying why, when this fails).
// Usage: MEDIASOUP_WORKER_BIN=... node scripts/mediasoup/dtls-probe.mjs
import mediasoup from 'mediasoup';
import { RTCPeerConnection } from 'werift';

async function main() {
  const worker = await mediasoup.createWorker({ logLevel: 'none' });
  const died = new Promise((resolve) => worker.on('died', () => resolve(3)));
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
  });
  const t = await router.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  });
  const pc = new RTCPeerConnection({
    iceUseIpv6: false,
    iceUseTcp: false,
    iceTcpPassive: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
  });
  const tr = pc.addTransceiver('audio', { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const fp = /a=fingerprint:(\S+) (\S+)/.exec(pc.localDescription.sdp);
  const c = t.iceCandidates[0];
  const remote = t.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  const mid = tr.mid ?? '0';
  await pc.setRemoteDescription({
    type: 'answer',
    sdp: [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=ice-lite',
      `a=group:BUNDLE ${mid}`,
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'c=IN IP4 127.0.0.1',
      `a=mid:${mid}`,
      'a=recvonly',
      `a=ice-ufrag:${t.iceParameters.usernameFragment}`,
      `a=ice-pwd:${t.iceParameters.password}`,
      `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address} ${c.port} typ host`,
      `a=fingerprint:sha-256 ${remote.value}`,
      'a=setup:passive',
      'a=rtcp-mux',
      'a=rtpmap:111 opus/48000/2',
      '',
    ].join('\r\n'),
  });
  await t.connect({
    dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fp[1], value: fp[2] }] },
  });
  const connected = new Promise((resolve) =>
    t.on('dtlsstatechange', (s) => s === 'connected' && resolve(0)),
  );
  const timeout = new Promise((resolve) => setTimeout(() => resolve(4), 30_000).unref());
  const code = await Promise.race([connected, died, timeout]);
  await pc.close().catch(() => undefined);
  worker.close();
  return code;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`dtls-probe: ${error.message}`);
    process.exit(1);
  },
);
