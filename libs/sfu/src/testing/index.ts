/**
 * libs/sfu's test helpers, for other libs' tests and the bench (`@ledgerline/sfu/testing`):
 * programmatic WebRTC peers (werift) that speak to an engine through an `SfuPort`.
 */
export { MediasoupTestPeer, type ReceivedMedia } from './mediasoup-test-peer';
