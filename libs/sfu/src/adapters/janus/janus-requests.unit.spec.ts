import { SfuRequestError } from '../../sfu.port';
import { handleCounters } from './janus-handle-info';
import { parseJanusRequest, parseProducerId } from './janus-requests';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

describe('parseJanusRequest', () => {
  it('accepts a well-formed request', () => {
    expect(
      parseJanusRequest({ method: 'publish', data: { jsep: { type: 'offer', sdp: SDP } } }),
    ).toEqual({ method: 'publish', data: { jsep: { type: 'offer', sdp: SDP } } });
    expect(
      parseJanusRequest({ method: 'trickle', data: { candidate: { completed: true } } }).method,
    ).toBe('trickle');
  });

  it('refuses an unknown method, including inherited names and the other engine’s', () => {
    for (const method of ['drop', 'toString', '__proto__', 'produce', 'connect-transport']) {
      expect(() => parseJanusRequest({ method, data: {} })).toThrow(SfuRequestError);
    }
  });

  it('refuses an offer where an answer belongs, non-SDP, and SDP past its cap', () => {
    const refused = [
      { method: 'start', data: { consumerId: 'c', jsep: { type: 'offer', sdp: SDP } } },
      { method: 'publish', data: { jsep: { type: 'offer', sdp: 'hello there, Janus' } } },
      { method: 'publish', data: { jsep: { type: 'offer', sdp: SDP + 'a=x\r\n'.repeat(20_000) } } },
      { method: 'trickle', data: { candidate: { candidate: 'x'.repeat(600) } } },
    ];
    for (const request of refused) {
      expect(() => parseJanusRequest(request)).toThrow(SfuRequestError);
    }
  });

  it('names the malformed fields, never their values', () => {
    const secret = 'v=0 o=- 1 1 IN IP4 10.1.2.3';
    try {
      parseJanusRequest({ method: 'consume', data: { producerId: 7, extra: secret } });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(SfuRequestError);
      expect((error as Error).message).toContain('producerId');
      expect((error as Error).message).not.toContain('10.1.2.3');
    }
  });
});

describe('parseProducerId', () => {
  it('reads <feed>:<mid> and nothing else', () => {
    expect(parseProducerId('1234:0')).toEqual({ feed: 1234, mid: '0' });
    for (const bad of ['nope', '12:', ':0', '1:a b', '99999999999999999:0', '-1:0']) {
      expect(parseProducerId(bad)).toBeUndefined();
    }
  });
});

describe('handleCounters', () => {
  it('sums media and DTLS bytes each way and reads the remote side of the selected pair', () => {
    const info = {
      webrtc: {
        ice: { 'selected-pair': '192.0.2.2:27061 [host,udp] <-> 127.0.0.1:45331 [prflx,udp]' },
        dtls: { stats: { in: { packets: 8, bytes: 860 }, out: { packets: 4, bytes: 1188 } } },
        media: {
          '0': { stats: { in: { bytes: 6800, bytes_lastsec: 4000 }, out: { bytes: 0 } } },
          '1': { stats: { in: { bytes: 1000 }, out: { bytes: 20 } } },
        },
      },
    };
    expect(handleCounters(info)).toEqual({
      bytesIn: 860 + 6800 + 1000,
      bytesOut: 1188 + 20,
      connected: true,
      remoteAddress: '127.0.0.1:45331',
    });
  });

  it('reports a handle without a connection as such', () => {
    expect(handleCounters({ plugin: 'janus.plugin.videoroom' })).toEqual({
      bytesIn: 0,
      bytesOut: 0,
      connected: false,
    });
    expect(handleCounters(undefined).connected).toBe(false);
  });
});
