import { canonicalHeader, chainHash, type HeaderFields } from './hash-chain';

const fields: HeaderFields = {
  tenantId: 'tenant-a',
  streamId: 'conversation-1',
  revision: 3n,
  eventId: '0190D3C4-1B2A-7C3D-8E4F-0123456789AB',
  type: 'MessageSent',
  schemaVersion: 1,
  recordedAt: new Date('2026-11-25T10:00:00.000Z'),
  keyId: 'key-1',
  epoch: '2026-11',
  metadata: { actor: { id: 'u1', kind: 'user' }, correlationId: 'c1' },
};
const body = Uint8Array.from([1, 2, 3]);

describe('hash chain', () => {
  it('does not depend on metadata key order or event id case', () => {
    const reordered = canonicalHeader({
      ...fields,
      eventId: fields.eventId.toLowerCase(),
      metadata: { correlationId: 'c1', actor: { kind: 'user', id: 'u1' } },
    });
    expect(reordered.equals(canonicalHeader(fields))).toBe(true);
  });

  it.each([
    ['tenant', { tenantId: 'tenant-b' }],
    ['stream', { streamId: 'conversation-2' }],
    ['revision', { revision: 4n }],
    ['type', { type: 'MessageEdited' }],
    ['schema version', { schemaVersion: 2 }],
    ['recorded time', { recordedAt: new Date('2026-11-25T10:00:00.001Z') }],
    ['key', { keyId: 'key-2' }],
    ['epoch', { epoch: '2026-12' }],
    ['metadata', { metadata: { actor: { id: 'u2', kind: 'user' }, correlationId: 'c1' } }],
  ] as [string, Partial<HeaderFields>][])('changes when the %s changes', (_what, change) => {
    const a = chainHash(canonicalHeader(fields), body, null);
    const b = chainHash(canonicalHeader({ ...fields, ...change }), body, null);
    expect(a).not.toBe(b);
  });

  it('changes with the body and with the previous hash', () => {
    const base = chainHash(canonicalHeader(fields), body, null);
    expect(chainHash(canonicalHeader(fields), Uint8Array.from([1, 2, 4]), null)).not.toBe(base);
    expect(chainHash(canonicalHeader(fields), body, 'a'.repeat(64))).not.toBe(base);
    expect(chainHash(canonicalHeader(fields), body, null)).toBe(base);
  });
});
