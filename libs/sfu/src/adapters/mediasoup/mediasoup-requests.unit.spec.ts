import { SfuRequestError } from '../../sfu.port';
import { parseMediasoupRequest } from './mediasoup-requests';

describe('parseMediasoupRequest', () => {
  it('accepts a well-formed request', () => {
    expect(
      parseMediasoupRequest({
        method: 'set-preferred-layers',
        data: { consumerId: 'c1', spatialLayer: 2, temporalLayer: 0 },
      }),
    ).toEqual({
      method: 'set-preferred-layers',
      data: { consumerId: 'c1', spatialLayer: 2, temporalLayer: 0 },
    });
  });

  it('refuses an unknown method, including inherited names', () => {
    for (const method of ['drop', 'toString', '__proto__']) {
      expect(() => parseMediasoupRequest({ method, data: {} })).toThrow(SfuRequestError);
    }
  });

  it('refuses malformed data naming the fields, never their values', () => {
    const secret = 'v=0 o=- 1 1 IN IP4 10.1.2.3';
    try {
      parseMediasoupRequest({
        method: 'connect-transport',
        data: { transportId: secret, dtlsParameters: {} },
      });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(SfuRequestError);
      expect((error as Error).message).toContain('dtlsParameters');
      expect((error as Error).message).not.toContain('10.1.2.3');
    }
  });

  it('caps lists: more than three simulcast encodings are refused', () => {
    const encodings = [1, 2, 3, 4].map((ssrc) => ({ ssrc }));
    expect(() =>
      parseMediasoupRequest({
        method: 'produce',
        data: { kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8' }], encodings } },
      }),
    ).toThrow(SfuRequestError);
  });
});
