import { randomBytes } from 'node:crypto';
import { associatedData, decryptPayload, encryptPayload } from './event-cipher';

const event = {
  tenantId: 'tenant-a',
  streamId: 'conversation-1',
  eventId: '0190d3c4-1b2a-7c3d-8e4f-0123456789ab',
  type: 'MessageSent',
  schemaVersion: 1,
};
const canary = Buffer.from('CANARY-blood pressure 180/110', 'utf8');

describe('event cipher (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips a payload, and the sealed body does not contain it', () => {
    const sealed = encryptPayload(key, associatedData(event), canary);
    expect(Buffer.from(sealed).includes(canary)).toBe(false);
    expect(decryptPayload(key, associatedData(event), sealed)).toEqual(canary);
  });

  it('uses a fresh nonce every time: the same payload seals to different bytes', () => {
    const a = Buffer.from(encryptPayload(key, associatedData(event), canary));
    const b = Buffer.from(encryptPayload(key, associatedData(event), canary));
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
  });

  it.each([
    ['tenant', { tenantId: 'tenant-b' }],
    ['stream', { streamId: 'conversation-2' }],
    ['event id', { eventId: '0190d3c4-1b2a-7c3d-8e4f-0123456789ac' }],
    ['type', { type: 'MessageEdited' }],
    ['schema version', { schemaVersion: 2 }],
  ])('refuses a body moved to another %s', (_what, change) => {
    const sealed = encryptPayload(key, associatedData(event), canary);
    expect(() => decryptPayload(key, associatedData({ ...event, ...change }), sealed)).toThrow();
  });

  it('refuses a body with any single byte flipped, and a truncated one', () => {
    const sealed = Buffer.from(encryptPayload(key, associatedData(event), canary));
    for (let i = 0; i < sealed.length; i++) {
      const copy = Buffer.from(sealed);
      copy[i]! ^= 0x01;
      expect(() => decryptPayload(key, associatedData(event), copy)).toThrow();
    }
    expect(() => decryptPayload(key, associatedData(event), sealed.subarray(0, 20))).toThrow();
  });

  it('refuses another key', () => {
    const sealed = encryptPayload(key, associatedData(event), canary);
    expect(() => decryptPayload(randomBytes(32), associatedData(event), sealed)).toThrow();
  });
});
