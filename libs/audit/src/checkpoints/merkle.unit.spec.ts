import { createHash } from 'node:crypto';
import {
  EMPTY_ROOT,
  MerkleFrontier,
  MerkleTree,
  leafHash,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

// The Certificate Transparency reference inputs and tree heads (RFC 6962 hashing, which RFC 9162
// keeps), as every CT implementation tests them.
const CT_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_LEAVES = CT_INPUTS.map(leafHash);

/** MTH straight from the RFC's recursive definition: the reference the fast tree is held to. */
function referenceRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

const leavesOf = (n: number) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf-${i}`)));

describe('RFC 9162 Merkle tree', () => {
  it('hashes leaves with 0x00 and nodes with 0x01', () => {
    expect(hex(leafHash(Buffer.alloc(0)))).toBe(
      hex(
        createHash('sha256')
          .update(Buffer.from([0]))
          .digest(),
      ),
    );
    const l = Buffer.alloc(32, 1);
    const r = Buffer.alloc(32, 2);
    expect(hex(nodeHash(l, r))).toBe(
      hex(
        createHash('sha256')
          .update(Buffer.concat([Buffer.from([1]), l, r]))
          .digest(),
      ),
    );
    expect(hex(EMPTY_ROOT)).toBe(CT_ROOTS[0]);
  });

  it('matches the Certificate Transparency reference roots for sizes 0..8', () => {
    const tree = MerkleTree.fromLeafHashes(CT_LEAVES);
    for (let n = 0; n <= 8; n++) {
      expect(hex(tree.root(n))).toBe(CT_ROOTS[n]);
      expect(hex(MerkleTree.fromLeafHashes(CT_LEAVES.slice(0, n)).root())).toBe(CT_ROOTS[n]);
    }
  });

  it('makes the reference inclusion and consistency proofs', () => {
    const tree = MerkleTree.fromLeafHashes(CT_LEAVES);
    expect(tree.inclusionProof(0, 8).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(tree.inclusionProof(5, 8).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(tree.consistencyProof(2, 8).map(hex)).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(tree.consistencyProof(6, 8).map(hex)).toEqual([
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
  });

  describe('the worked 7-leaf example of RFC 9162 §2.1.5', () => {
    // d0..d6 → leaves a..f and j; g = (a,b), h = (c,d), i = (e,f), k = (g,h), l = (i,j).
    const [a, b, c, d, e, f, j] = leavesOf(7) as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ];
    const g = nodeHash(a, b);
    const h = nodeHash(c, d);
    const i = nodeHash(e, f);
    const k = nodeHash(g, h);
    const l = nodeHash(i, j);
    const tree = MerkleTree.fromLeafHashes([a, b, c, d, e, f, j]);

    it('has root (k, l)', () => {
      expect(tree.root()).toEqual(nodeHash(k, l));
    });

    it('proves inclusion of d0 with [b, h, l], d3 with [c, g, l], d4 with [f, j, k], d6 with [i, k]', () => {
      expect(tree.inclusionProof(0)).toEqual([b, h, l]);
      expect(tree.inclusionProof(3)).toEqual([c, g, l]);
      expect(tree.inclusionProof(4)).toEqual([f, j, k]);
      expect(tree.inclusionProof(6)).toEqual([i, k]);
    });

    it('proves consistency from sizes 3, 4 and 6 with [c, d, g, l], [l] and [i, j, k]', () => {
      expect(tree.consistencyProof(3)).toEqual([c, d, g, l]);
      expect(tree.consistencyProof(4)).toEqual([l]);
      expect(tree.consistencyProof(6)).toEqual([i, j, k]);
      expect(tree.root(3)).toEqual(nodeHash(g, c));
      expect(tree.root(4)).toEqual(k);
      expect(tree.root(6)).toEqual(nodeHash(k, i));
      for (const m of [3, 4, 6]) {
        expect(verifyConsistency(m, 7, tree.root(m), tree.root(), tree.consistencyProof(m))).toBe(
          true,
        );
      }
    });
  });

  const N = 20;
  const leaves = leavesOf(N);
  const tree = MerkleTree.fromLeafHashes(leaves);
  const roots = Array.from({ length: N + 1 }, (_, n) => referenceRoot(leaves.slice(0, n)));

  it(`agrees with the recursive definition for every size up to ${N}`, () => {
    for (let n = 0; n <= N; n++) expect(tree.root(n)).toEqual(roots[n]);
  });

  it(`verifies every inclusion proof in every tree up to ${N} leaves, and no tampered one`, () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m < n; m++) {
        const proof = tree.inclusionProof(m, n);
        expect(verifyInclusion(leaves[m]!, m, n, proof, roots[n]!)).toBe(true);
        // Wrong leaf, index, size or root; a flipped, dropped, extra or swapped proof hash.
        expect(verifyInclusion(leaves[(m + 1) % N]!, m, n, proof, roots[n]!)).toBe(false);
        if (n > 1)
          expect(verifyInclusion(leaves[m]!, (m + 1) % n, n, proof, roots[n]!)).toBe(false);
        if (n < N) expect(verifyInclusion(leaves[m]!, m, n + 1, proof, roots[n + 1]!)).toBe(false);
        expect(verifyInclusion(leaves[m]!, m, n, proof, roots[n - 1]!)).toBe(false);
        expect(verifyInclusion(leaves[m]!, n, n, proof, roots[n]!)).toBe(false);
        for (let p = 0; p < proof.length; p++) {
          const flipped = proof.map((x) => Buffer.from(x));
          const b = flipped[p]!;
          b[p % 32] = b[p % 32]! ^ 0x01;
          expect(verifyInclusion(leaves[m]!, m, n, flipped, roots[n]!)).toBe(false);
        }
        if (proof.length > 0) {
          expect(verifyInclusion(leaves[m]!, m, n, proof.slice(0, -1), roots[n]!)).toBe(false);
        }
        expect(verifyInclusion(leaves[m]!, m, n, [...proof, leaves[0]!], roots[n]!)).toBe(false);
        if (proof.length > 1 && !proof[0]!.equals(proof[1]!)) {
          const swapped = [proof[1]!, proof[0]!, ...proof.slice(2)];
          expect(verifyInclusion(leaves[m]!, m, n, swapped, roots[n]!)).toBe(false);
        }
      }
    }
  });

  it(`verifies every consistency proof between trees up to ${N} leaves, and no tampered one`, () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof)).toBe(true);
        if (m === 0 || m === n) {
          expect(proof).toEqual([]);
          if (m === n && n > 1)
            expect(verifyConsistency(m, n, roots[m]!, roots[n - 1]!, proof)).toBe(false);
          continue;
        }
        expect(verifyConsistency(m, n, roots[m - 1]!, roots[n]!, proof)).toBe(false);
        expect(verifyConsistency(m, n, roots[m]!, roots[n - 1]!, proof)).toBe(false);
        expect(verifyConsistency(n, m, roots[n]!, roots[m]!, proof)).toBe(false);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, [])).toBe(false);
        for (let p = 0; p < proof.length; p++) {
          const flipped = proof.map((x) => Buffer.from(x));
          const b = flipped[p]!;
          b[0] = b[0]! ^ 0x80;
          expect(verifyConsistency(m, n, roots[m]!, roots[n]!, flipped)).toBe(false);
        }
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof.slice(0, -1))).toBe(false);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, [...proof, leaves[0]!])).toBe(false);
      }
    }
  });

  it('a frontier computes the same roots leaf by leaf, and survives a save and restore', () => {
    let frontier = MerkleFrontier.empty();
    expect(frontier.root()).toEqual(EMPTY_ROOT);
    for (let n = 1; n <= N; n++) {
      frontier.append(leaves[n - 1]!);
      expect(frontier.root()).toEqual(roots[n]);
      frontier = MerkleFrontier.restore(frontier.size, frontier.peaksHex());
    }
    expect(() => MerkleFrontier.restore(5, [hex(leaves[0]!)])).toThrow(RangeError);
  });

  it('refuses proofs about leaves or sizes outside the tree', () => {
    expect(() => tree.inclusionProof(N)).toThrow(RangeError);
    expect(() => tree.inclusionProof(0, N + 1)).toThrow(RangeError);
    expect(() => tree.consistencyProof(5, 3)).toThrow(RangeError);
    expect(() => MerkleTree.fromLeafHashes([Buffer.alloc(31)])).toThrow(RangeError);
  });
});
