import { RangeNotSatisfiableError } from '../application/file-downloads.handler';
import { byteRangeOf } from './http-range';

describe('Range headers', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=100-', { start: 100, end: 999 }],
    ['bytes=-10', { start: 990, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }],
  ])('reads %s of a 1000-byte file', (header, range) => {
    expect(byteRangeOf(header, 1000)).toEqual(range);
  });

  it.each([
    undefined,
    'bytes=0-1,5-6',
    'items=0-5',
    'bytes=-',
    'bytes=5-1',
    'bytes=x-y',
    `bytes=0-${'9'.repeat(200)}`,
  ])('serves the whole file for %s', (header) => {
    expect(byteRangeOf(header, 1000)).toBeUndefined();
  });

  it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0'])('refuses %s with 416', (header) => {
    expect(() => byteRangeOf(header, 1000)).toThrow(RangeNotSatisfiableError);
  });
});
