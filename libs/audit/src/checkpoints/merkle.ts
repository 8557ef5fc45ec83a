import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2, same shape as RFC 6962): SHA-256,
 * leaves hashed with a 0x00 prefix and interior nodes with 0x01, and a tree of n leaves split at
 * the largest power of two smaller than n. Everything here is pure and synchronous.
 */

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({}): the hash of the empty string. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

function assertSize(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be an integer ≥ 0`);
}

/**
 * A tree over known leaf hashes, with every complete (perfect, aligned) subtree hashed once, so
 * roots of any prefix and both kinds of proof cost O(log n) hashes after an O(n) build.
 */
export class MerkleTree {
  /**
   * levels[h] holds, 32 bytes each, the roots of the perfect subtrees over leaves
   * [i·2^h, (i+1)·2^h): one buffer per level keeps a large tree to about 64 bytes per leaf.
   */
  private readonly levels: Buffer[];

  private constructor(leaves: Buffer) {
    this.levels = [leaves];
    for (let below = leaves; below.length >= 64;) {
      const count = Math.floor(below.length / 64);
      const above = Buffer.allocUnsafe(count * 32);
      for (let i = 0; i < count; i++) {
        nodeHash(
          below.subarray(i * 64, i * 64 + 32),
          below.subarray(i * 64 + 32, i * 64 + 64),
        ).copy(above, i * 32);
      }
      this.levels.push(above);
      below = above;
    }
  }

  static fromLeafHashes(leafHashes: readonly Uint8Array[]): MerkleTree {
    const leaves = Buffer.allocUnsafe(leafHashes.length * 32);
    for (const [i, h] of leafHashes.entries()) {
      if (h.length !== 32) throw new RangeError('a leaf hash is 32 bytes');
      leaves.set(h, i * 32);
    }
    return new MerkleTree(leaves);
  }

  get size(): number {
    return this.levels[0]!.length / 32;
  }

  /** MTH(D[0:size]) for any size up to the tree's. */
  root(size: number = this.size): Buffer {
    this.checkSize('size', size);
    return size === 0 ? EMPTY_ROOT : this.hashRange(0, size);
  }

  /** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1: sibling hashes from the leaf up. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.checkSize('size', size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new RangeError('leaf index must be inside the tree');
    }
    const path: Buffer[] = [];
    this.path(index, 0, size, path);
    return path;
  }

  /** PROOF(from, D[0:to]) of RFC 9162 §2.1.4.1; empty when from is 0 or equals to. */
  consistencyProof(from: number, to: number = this.size): Buffer[] {
    this.checkSize('to', to);
    assertSize('from', from);
    if (from > to) throw new RangeError('a consistency proof goes from a smaller tree to a larger');
    const proof: Buffer[] = [];
    if (from === 0 || from === to) return proof;
    this.subproof(from, 0, to, true, proof);
    return proof;
  }

  private checkSize(what: string, size: number): void {
    assertSize(what, size);
    if (size > this.size) throw new RangeError(`${what} is larger than the tree`);
  }

  // The recursions below mirror the RFC's definitions over D[start:end]; proofs are built
  // leaf-first, so the recursive part comes before the sibling it is paired with.
  private path(m: number, start: number, end: number, out: Buffer[]): void {
    const n = end - start;
    if (n === 1) return;
    const k = split(n);
    if (m < k) {
      this.path(m, start, start + k, out);
      out.push(this.hashRange(start + k, end));
    } else {
      this.path(m - k, start + k, end, out);
      out.push(this.hashRange(start, start + k));
    }
  }

  private subproof(m: number, start: number, end: number, whole: boolean, out: Buffer[]): void {
    const n = end - start;
    if (m === n) {
      if (!whole) out.push(this.hashRange(start, end));
      return;
    }
    const k = split(n);
    if (m <= k) {
      this.subproof(m, start, start + k, whole, out);
      out.push(this.hashRange(start + k, end));
    } else {
      this.subproof(m - k, start + k, end, false, out);
      out.push(this.hashRange(start, start + k));
    }
  }

  /** MTH(D[start:end]) for n = end - start ≥ 1. */
  private hashRange(start: number, end: number): Buffer {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) {
      const level = this.levels[Math.log2(n)];
      const at = (start / n) * 32;
      // A copy: callers own what they are given, and the tree stays immutable.
      if (level && at + 32 <= level.length) return Buffer.from(level.subarray(at, at + 32));
    }
    const k = split(n);
    return nodeHash(this.hashRange(start, start + k), this.hashRange(start + k, end));
  }
}

/**
 * The roots of the perfect subtrees a tree of `size` leaves decomposes into (largest first):
 * enough to append leaves and compute new roots without the leaves before them.
 */
export class MerkleFrontier {
  private constructor(
    private count: number,
    private readonly peaks: Buffer[],
  ) {}

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  /** Restores a frontier saved with `peaksHex()`; its length must match the size's binary ones. */
  static restore(size: number, peaksHex: readonly string[]): MerkleFrontier {
    assertSize('size', size);
    const ones = size.toString(2).replace(/0/g, '').length;
    if (peaksHex.length !== ones || !peaksHex.every((p) => /^[0-9a-f]{64}$/.test(p))) {
      throw new RangeError(`a frontier of size ${size} has ${ones} 32-byte hex peak(s)`);
    }
    return new MerkleFrontier(
      size,
      peaksHex.map((p) => Buffer.from(p, 'hex')),
    );
  }

  get size(): number {
    return this.count;
  }

  append(hash: Buffer): void {
    if (hash.length !== 32) throw new RangeError('a leaf hash is 32 bytes');
    let h = hash;
    // Each trailing one bit of the old size is a peak that now has a right sibling.
    for (let n = this.count; n & 1; n >>= 1) h = nodeHash(this.peaks.pop()!, h);
    this.peaks.push(h);
    this.count += 1;
  }

  root(): Buffer {
    if (this.peaks.length === 0) return EMPTY_ROOT;
    let r = this.peaks[this.peaks.length - 1]!;
    for (let i = this.peaks.length - 2; i >= 0; i--) r = nodeHash(this.peaks[i]!, r);
    return r;
  }

  peaksHex(): string[] {
    return this.peaks.map((p) => p.toString('hex'));
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(this.count, this.peaks.slice());
  }
}

/** RFC 9162 §2.1.3.2: does `proof` lead from leaf `index`'s hash to `root` of a tree of `size`? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return false;
  // Bit operations in JavaScript are 32-bit; trees stay far below 2^31 leaves here.
  if (size > 0x7fffffff) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      r = nodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 §2.1.4.2: is the tree of `toSize` with `toRoot` an append-only extension of the tree
 * of `fromSize` with `fromRoot`? Equal sizes need equal roots and an empty proof; every tree
 * extends the empty one.
 */
export function verifyConsistency(
  fromSize: number,
  toSize: number,
  fromRoot: Uint8Array,
  toRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(fromSize) || !Number.isSafeInteger(toSize)) return false;
  if (fromSize < 0 || fromSize > toSize || toSize > 0x7fffffff) return false;
  if (fromSize === 0) return proof.length === 0;
  if (fromSize === toSize) return proof.length === 0 && Buffer.from(fromRoot).equals(toRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(fromSize) ? [fromRoot, ...proof] : [...proof];
  let fn = fromSize - 1;
  let sn = toSize - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr.equals(fromRoot) && sr.equals(toRoot) && sn === 0;
}
