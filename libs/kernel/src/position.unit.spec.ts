import { comparePositions, decodePosition, encodePosition } from './position';

describe('GlobalPosition', () => {
  it('orders by commit, then prepare', () => {
    expect(comparePositions({ commit: 1n, prepare: 9n }, { commit: 2n, prepare: 1n })).toBe(-1);
    expect(comparePositions({ commit: 2n, prepare: 3n }, { commit: 2n, prepare: 1n })).toBe(1);
    expect(comparePositions({ commit: 2n, prepare: 3n }, { commit: 2n, prepare: 3n })).toBe(0);
  });

  it('round-trips through its token and refuses anything else', () => {
    const p = { commit: 18446744073709551615n, prepare: 42n };
    expect(decodePosition(encodePosition(p))).toEqual(p);
    for (const bad of ['', '1', '1.', '.1', '-1.2', '1.2.3', 'a.b', '1.2 ']) {
      expect(decodePosition(bad)).toBeUndefined();
    }
  });
});
