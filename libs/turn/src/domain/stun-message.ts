import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { crc32 } from 'node:zlib';

/**
 * STUN/TURN wire format (RFC 8489, RFC 8656): decoding that refuses anything malformed instead of
 * throwing half-way, and encoding of the replies and indications the relay sends. Pure: no sockets.
 */

export const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;
const HEADER_BYTES = 20;

export const StunMethod = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;

export const StunClass = { request: 0, indication: 1, success: 2, error: 3 } as const;
export type StunClassValue = (typeof StunClass)[keyof typeof StunClass];

export const Attr = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  evenPort: 0x0018,
  requestedTransport: 0x0019,
  dontFragment: 0x001a,
  xorMappedAddress: 0x0020,
  reservationToken: 0x0022,
  priority: 0x0024,
  useCandidate: 0x0025,
  software: 0x8022,
  fingerprint: 0x8028,
} as const;

/** Comprehension-required attributes (0x0000-0x7FFF) this relay understands; any other one is answered 420. */
const UNDERSTOOD_REQUIRED = new Set<number>([
  Attr.mappedAddress,
  Attr.username,
  Attr.messageIntegrity,
  Attr.errorCode,
  Attr.unknownAttributes,
  Attr.channelNumber,
  Attr.lifetime,
  Attr.xorPeerAddress,
  Attr.data,
  Attr.realm,
  Attr.nonce,
  Attr.xorRelayedAddress,
  Attr.requestedAddressFamily,
  Attr.evenPort,
  Attr.requestedTransport,
  Attr.xorMappedAddress,
  Attr.reservationToken,
  Attr.priority,
  Attr.useCandidate,
]);

export interface StunAttribute {
  readonly type: number;
  readonly value: Buffer;
  /** Where the attribute's header starts in the message. */
  readonly offset: number;
}

export interface StunMessage {
  readonly method: number;
  readonly cls: StunClassValue;
  readonly transactionId: Buffer;
  readonly attributes: readonly StunAttribute[];
  readonly raw: Buffer;
  /** Comprehension-required attribute types not understood (a request with any is answered 420). */
  readonly unknownRequired: readonly number[];
  /** The MESSAGE-INTEGRITY attribute, when present. */
  readonly integrity?: StunAttribute;
  /** The message ended with a (valid) FINGERPRINT: replies carry one too. */
  readonly fingerprint: boolean;
}

export interface TransportAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** A datagram (or TCP frame) that starts with the STUN header's two zero bits, else channel data. */
export function isStunHeader(buf: Buffer): boolean {
  return buf.length >= 1 && (buf[0]! & 0xc0) === 0;
}

/** Channel numbers per RFC 5766/8656 as real clients use them (0x4000-0x7FFE). */
export function isChannelNumber(n: number): boolean {
  return n >= 0x4000 && n <= 0x7ffe;
}

/**
 * Decodes one STUN message; undefined for anything malformed (short, wrong cookie, a length that
 * does not match, an attribute running past the end, a bad FINGERPRINT). `exact`: the buffer must
 * be exactly one message (UDP); otherwise trailing bytes are ignored by the caller's framing.
 */
export function decodeStun(buf: Buffer): StunMessage | undefined {
  if (buf.length < HEADER_BYTES || !isStunHeader(buf)) return undefined;
  const type = buf.readUInt16BE(0);
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER_BYTES + length !== buf.length) return undefined;
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type & 0x0010) >> 4) | ((type & 0x0100) >> 7)) as StunClassValue;
  const attributes: StunAttribute[] = [];
  const unknownRequired: number[] = [];
  let integrity: StunAttribute | undefined;
  let offset = HEADER_BYTES;
  let sawFingerprint = false;
  while (offset < buf.length) {
    if (sawFingerprint) return undefined; // FINGERPRINT must be the last attribute
    if (offset + 4 > buf.length) return undefined;
    const attrType = buf.readUInt16BE(offset);
    const attrLength = buf.readUInt16BE(offset + 2);
    const end = offset + 4 + attrLength;
    if (end > buf.length) return undefined;
    const attribute: StunAttribute = {
      type: attrType,
      value: buf.subarray(offset + 4, end),
      offset,
    };
    if (attrType === Attr.fingerprint) {
      if (attrLength !== 4 || !fingerprintMatches(buf, offset, attribute.value)) return undefined;
      sawFingerprint = true;
    } else if (integrity === undefined) {
      // After MESSAGE-INTEGRITY only FINGERPRINT counts (RFC 8489 §14.5).
      attributes.push(attribute);
      if (attrType === Attr.messageIntegrity) {
        if (attrLength !== 20) return undefined;
        integrity = attribute;
      } else if (attrType < 0x8000 && !UNDERSTOOD_REQUIRED.has(attrType)) {
        unknownRequired.push(attrType);
      }
    }
    offset = end + ((4 - (attrLength % 4)) % 4);
  }
  if (offset !== buf.length) return undefined;
  return {
    method,
    cls,
    transactionId: buf.subarray(8, 20),
    attributes,
    raw: buf,
    unknownRequired,
    fingerprint: sawFingerprint,
    ...(integrity ? { integrity } : {}),
  };
}

function fingerprintMatches(buf: Buffer, offset: number, value: Buffer): boolean {
  const expected = (crc32(buf.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
  return value.readUInt32BE(0) === expected;
}

export function attribute(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

export function attributes(message: StunMessage, type: number): Buffer[] {
  return message.attributes.filter((a) => a.type === type).map((a) => a.value);
}

/** The long-term credential key: MD5(username ":" realm ":" password) (RFC 8489 §9.2.2). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/** Checks MESSAGE-INTEGRITY against a key, in constant time. */
export function integrityMatches(message: StunMessage, key: Buffer): boolean {
  const mi = message.integrity;
  if (!mi) return false;
  const covered = Buffer.from(message.raw.subarray(0, mi.offset));
  covered.writeUInt16BE(mi.offset + 24 - HEADER_BYTES, 2);
  const expected = createHmac('sha1', key).update(covered).digest();
  return timingSafeEqual(expected, mi.value);
}

export function decodeXorAddress(
  value: Buffer,
  transactionId: Buffer,
): TransportAddress | undefined {
  if (value.length < 4) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === 0x01 && value.length === 8) {
    const raw = value.readUInt32BE(4) ^ MAGIC_COOKIE;
    const address = [raw >>> 24, (raw >>> 16) & 0xff, (raw >>> 8) & 0xff, raw & 0xff].join('.');
    return { address, port, family: 4 };
  }
  if (family === 0x02 && value.length === 20) {
    const mask = Buffer.concat([cookieBytes(), transactionId]);
    const bytes = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) bytes[i] = value[4 + i]! ^ mask[i]!;
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return { address: groups.join(':'), port, family: 6 };
  }
  return undefined;
}

function cookieBytes(): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(MAGIC_COOKIE, 0);
  return b;
}

export function encodeXorAddress(
  addr: { address: string; port: number },
  transactionId: Buffer,
): Buffer {
  if (isIPv4(addr.address)) {
    const out = Buffer.alloc(8);
    out[1] = 0x01;
    out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
    const parts = addr.address.split('.').map(Number);
    const raw = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    out.writeUInt32BE((raw ^ MAGIC_COOKIE) >>> 0, 4);
    return out;
  }
  if (!isIPv6(addr.address)) throw new TypeError('not an IP address');
  const out = Buffer.alloc(20);
  out[1] = 0x02;
  out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
  const bytes = ipv6Bytes(addr.address);
  const mask = Buffer.concat([cookieBytes(), transactionId]);
  for (let i = 0; i < 16; i++) out[4 + i] = bytes[i]! ^ mask[i]!;
  return out;
}

/** The 16 bytes of an IPv6 address (any spelling, an embedded dotted quad included). */
export function ipv6Bytes(address: string): Buffer {
  let text = address.split('%')[0]!;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const p = tail[1]!.split('.').map(Number);
    text = `${text.slice(0, -tail[1]!.length)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface OutgoingMessage {
  readonly method: number;
  readonly cls: StunClassValue;
  readonly transactionId: Buffer;
  readonly attributes: readonly (readonly [number, Buffer])[];
  /** Adds MESSAGE-INTEGRITY with this key. */
  readonly integrityKey?: Buffer;
  readonly fingerprint?: boolean;
}

export function encodeStun(message: OutgoingMessage): Buffer {
  const type =
    (message.method & 0x000f) |
    ((message.method & 0x0070) << 1) |
    ((message.method & 0x0f80) << 2) |
    ((message.cls & 0x1) << 4) |
    ((message.cls & 0x2) << 7);
  const parts: Buffer[] = [];
  for (const [attrType, value] of message.attributes) parts.push(encodeAttribute(attrType, value));
  let body = Buffer.concat(parts);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  message.transactionId.copy(header, 8, 0, 12);
  if (message.integrityKey) {
    header.writeUInt16BE(body.length + 24, 2);
    const hmac = createHmac('sha1', message.integrityKey).update(header).update(body).digest();
    body = Buffer.concat([body, encodeAttribute(Attr.messageIntegrity, hmac)]);
  }
  if (message.fingerprint) {
    header.writeUInt16BE(body.length + 8, 2);
    const crc = (crc32(Buffer.concat([header, body])) ^ FINGERPRINT_XOR) >>> 0;
    const value = Buffer.alloc(4);
    value.writeUInt32BE(crc, 0);
    body = Buffer.concat([body, encodeAttribute(Attr.fingerprint, value)]);
  }
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function encodeAttribute(type: number, value: Buffer): Buffer {
  const padding = (4 - (value.length % 4)) % 4;
  const out = Buffer.alloc(4 + value.length + padding);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

export function errorCodeValue(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  text.copy(out, 4);
  return out;
}

export function uint32Value(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0, 0);
  return out;
}

/** ChannelData: channel number, length, data, padded to 4 bytes (padding required over TCP). */
export function encodeChannelData(channel: number, data: Buffer, pad: boolean): Buffer {
  const padding = pad ? (4 - (data.length % 4)) % 4 : 0;
  const out = Buffer.allocUnsafe(4 + data.length + padding);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  if (padding) out.fill(0, 4 + data.length);
  return out;
}

/** Decodes ChannelData; undefined when too short, the channel is out of range or the length lies. */
export function decodeChannelData(buf: Buffer): { channel: number; data: Buffer } | undefined {
  if (buf.length < 4) return undefined;
  const channel = buf.readUInt16BE(0);
  if (!isChannelNumber(channel)) return undefined;
  const length = buf.readUInt16BE(2);
  if (4 + length > buf.length || buf.length - 4 - length > 3) return undefined;
  return { channel, data: buf.subarray(4, 4 + length) };
}
