/**
 * `@ledgerline/sfu/testing`: the programmatic WebRTC peers of each engine, for the contract suite,
 * integration tests and the bench; never imported by production code (it needs werift, a
 * development dependency).
 */
export {
  CLIENT_RTP_CAPABILITIES,
  LAYER_WIDTHS,
  MediasoupTestPeer,
  type ReceivedMedia,
  type SfuSignalling,
} from './mediasoup-test-peer';
