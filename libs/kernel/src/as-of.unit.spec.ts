import { formatAsOf, LATEST, parseAsOf } from './as-of';

describe('parseAsOf', () => {
  it.each([
    ['2026-11-25T10:00:00Z', '2026-11-25T10:00:00.000Z'],
    ['2026-11-25T10:00:00.123+01:00', '2026-11-25T09:00:00.123Z'],
    ['2026-11-25T10:00Z', '2026-11-25T10:00:00.000Z'],
    ['2026-11-25', '2026-11-25T00:00:00.000Z'],
    ['1234.5', 'position 1234.5'],
  ])('reads %s', (text, expected) => {
    expect(formatAsOf(parseAsOf(text)!)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '2026-11-25T10:00:00',
    '2026-13-45T10:00:00Z',
    '2026-02-30',
    '2026-11-25T24:30:00Z',
    '12.',
    '-1.2',
    '1.2.3',
  ])('refuses %j', (text) => {
    expect(parseAsOf(text)).toBeUndefined();
  });

  it('formats the latest moment as now', () => {
    expect(formatAsOf(LATEST)).toBe('now');
  });
});
