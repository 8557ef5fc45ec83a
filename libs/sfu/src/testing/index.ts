/**
 * `@ledgerline/sfu/testing`: the programmatic WebRTC peers of each engine and the Janus server the
 * tests start, for the contract suite, other libs' integration tests, the e2e tests and the bench;
 * never imported by production code (it needs werift, a development dependency).
 */
export {
  CLIENT_RTP_CAPABILITIES,
  MediasoupTestPeer,
  type ReceivedMedia,
  type SfuSignalling,
} from './mediasoup-test-peer';
export { LAYER_WIDTHS } from './test-media';
export { loopbackPeerConnection } from './loopback-peer';
export { JanusTestPeer } from './janus-test-peer';
export { janusUnavailable, startJanus, type JanusProcess } from './janus-process';
