import { encodePosition } from '@ledgerline/kernel';
import { decodeAuditCursor, encodeAuditCursor } from './audit-cursor';

const cursor = {
  after: { commit: 793n, prepare: 8n },
  asOf: { commit: 18446744073709551615n, prepare: 49n },
};

describe('audit cursor', () => {
  it('round-trips, and is opaque', () => {
    const token = encodeAuditCursor(cursor);
    expect(decodeAuditCursor(token)).toEqual(cursor);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain(encodePosition(cursor.after));
  });

  it.each([
    ['empty', ''],
    ['a bare position token', '793.8'],
    ['a position token in base64url', Buffer.from('793.8').toString('base64url')],
    ['another prefix', Buffer.from('conv.v1:793.8:928.35').toString('base64url')],
    ['one position only', Buffer.from('audit.v1:793.8').toString('base64url')],
    ['three positions', Buffer.from('audit.v1:1.2:3.4:5.6').toString('base64url')],
    ['a malformed position', Buffer.from('audit.v1:793.x:928.35').toString('base64url')],
    ['padding', `${encodeAuditCursor(cursor)}==`],
    ['not base64url', 'audit.v1:793.8:928.35'],
    ['too long', 'A'.repeat(129)],
  ])('refuses %s', (_what, token) => {
    expect(decodeAuditCursor(token)).toBeUndefined();
  });
});
