import { createHash } from 'node:crypto';
import {
  Attr,
  StunClass,
  StunMethod,
  decodeChannelData,
  decodeStun,
  decodeXorAddress,
  encodeStun,
  encodeXorAddress,
  integrityMatches,
  longTermKey,
} from './stun-message';

describe('STUN wire format', () => {
  // RFC 5769 §2.1's sample request: the test vector every STUN stack checks against.
  const rfc5769Request = Buffer.from(
    '000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf',
    'hex',
  );

  it('decodes the RFC 5769 request, checks its MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const message = decodeStun(rfc5769Request)!;
    expect(message).toBeDefined();
    expect(message.method).toBe(StunMethod.binding);
    expect(message.cls).toBe(StunClass.request);
    expect(message.fingerprint).toBe(true);
    // Short-term credential: the key is the password itself.
    expect(integrityMatches(message, Buffer.from('VOkJxbRl1RmTxUk/WvJxBt'))).toBe(true);
    expect(integrityMatches(message, Buffer.from('wrong'))).toBe(false);
    // 0x8029 (ICE-CONTROLLED) is comprehension-optional and not understood: ignored.
    expect(message.unknownRequired).toEqual([]);
  });

  it('refuses a flipped bit under the FINGERPRINT, a truncated message and a lying length', () => {
    const flipped = Buffer.from(rfc5769Request);
    flipped[30] = flipped[30]! ^ 1;
    expect(decodeStun(flipped)).toBeUndefined();
    expect(decodeStun(rfc5769Request.subarray(0, 60))).toBeUndefined();
    const lying = Buffer.from(rfc5769Request);
    lying.writeUInt16BE(0x0100, 2);
    expect(decodeStun(lying)).toBeUndefined();
    expect(decodeStun(Buffer.alloc(3))).toBeUndefined();
  });

  it('encodes with MESSAGE-INTEGRITY and FINGERPRINT that decode and verify', () => {
    const key = longTermKey('user', 'realm', 'pass');
    expect(key).toEqual(createHash('md5').update('user:realm:pass').digest());
    const tid = Buffer.alloc(12, 9);
    const out = encodeStun({
      method: StunMethod.allocate,
      cls: StunClass.request,
      transactionId: tid,
      attributes: [
        [Attr.requestedTransport, Buffer.from([17, 0, 0, 0])],
        [0x0777, Buffer.from('x')],
      ],
      integrityKey: key,
      fingerprint: true,
    });
    const message = decodeStun(out)!;
    expect(message.method).toBe(StunMethod.allocate);
    expect(integrityMatches(message, key)).toBe(true);
    expect(message.unknownRequired).toEqual([0x0777]);
  });

  it('round-trips XOR addresses for IPv4 and IPv6', () => {
    const tid = Buffer.alloc(12, 3);
    expect(
      decodeXorAddress(encodeXorAddress({ address: '192.0.2.1', port: 32853 }, tid), tid),
    ).toEqual({
      address: '192.0.2.1',
      port: 32853,
      family: 4,
    });
    expect(
      decodeXorAddress(encodeXorAddress({ address: '2001:db8::1', port: 1 }, tid), tid),
    ).toEqual({
      address: '2001:db8:0:0:0:0:0:1',
      port: 1,
      family: 6,
    });
    expect(decodeXorAddress(Buffer.alloc(3), tid)).toBeUndefined();
  });

  it('refuses short and out-of-range ChannelData', () => {
    expect(decodeChannelData(Buffer.from([0x40, 0x00, 0x00]))).toBeUndefined();
    expect(decodeChannelData(Buffer.from([0x40, 0x00, 0x00, 0x08, 1]))).toBeUndefined();
    expect(decodeChannelData(Buffer.from([0x7f, 0xff, 0x00, 0x00]))).toBeUndefined();
    expect(decodeChannelData(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xaa, 0, 0, 0]))).toEqual({
      channel: 0x4001,
      data: Buffer.from([0xaa]),
    });
  });
});
