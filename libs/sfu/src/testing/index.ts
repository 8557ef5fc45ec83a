/**
 * libs/sfu's test helpers, for other libs' tests and the bench (`@ledgerline/sfu/testing`):
 * programmatic WebRTC peers (werift) that speak to an engine through an `SfuPort`, and the Janus
 * server the tests start.
 */
export { MediasoupTestPeer, type ReceivedMedia } from './mediasoup-test-peer';
export { JanusTestPeer } from './janus-test-peer';
export { janusUnavailable, startJanus, type JanusProcess } from './janus-process';
