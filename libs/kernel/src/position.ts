/**
 * A place in the global (`$all`) order. Two numbers, as in EventStoreDB: `commit` orders commits,
 * `prepare` orders events within and across them. Compare with `comparePositions`, never with
 * one field alone. In the PostgreSQL adapters `commit` is the writing transaction's id and
 * `prepare` the event's sequence number (see docs/adr/0003).
 */
export interface GlobalPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export const START_POSITION: GlobalPosition = Object.freeze({ commit: 0n, prepare: 0n });

export function comparePositions(a: GlobalPosition, b: GlobalPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** A compact, URL-safe token (`<commit>.<prepare>`) for acks, sync tokens and checkpoints. */
export function encodePosition(p: GlobalPosition): string {
  return `${p.commit.toString()}.${p.prepare.toString()}`;
}

const TOKEN = /^(\d{1,20})\.(\d{1,20})$/;

/** Parses a token from `encodePosition`; returns undefined for anything else. */
export function decodePosition(token: string): GlobalPosition | undefined {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  return { commit: BigInt(m[1]!), prepare: BigInt(m[2]!) };
}
