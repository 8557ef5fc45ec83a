import { LRUCache } from 'lru-cache';
import type { SqlClient } from '@ledgerline/database';
import type { SignedTails } from '@ledgerline/ledger';

export interface MerkleSignedTailsOptions {
  /** How long the latest signed head's size is taken as known (default 1 s). */
  readonly headTtlMs?: number;
  /** Streams whose signed revision is remembered per head (default 10,000). */
  readonly maxStreams?: number;
  readonly now?: () => number;
}

/**
 * SignedTails from the signed Merkle log: the highest revision of a stream among the leaves the
 * latest signed head covers. The head's size is re-read at most every `headTtlMs`, and a stream's
 * answer is kept until the head grows, so a hot stream's read costs no query here.
 *
 * This reads the leaves as stored: someone who deletes events and their leaves and heads too
 * defeats it, which `audit verify-log` (the recomputed root against the signatures) and an
 * auditor's known head then show.
 */
export class MerkleSignedTails implements SignedTails {
  private head: { size: number; at: number } | undefined;
  private readonly revisions: LRUCache<string, { size: number; revision: bigint | null }>;
  private readonly headTtlMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly client: SqlClient,
    options: MerkleSignedTailsOptions,
  ) {
    this.headTtlMs = options.headTtlMs ?? 1_000;
    this.now = options.now ?? Date.now;
    this.revisions = new LRUCache({ max: options.maxStreams ?? 10_000 });
  }

  static create(client: SqlClient, options: MerkleSignedTailsOptions = {}): MerkleSignedTails {
    return new MerkleSignedTails(client, options);
  }

  async signedRevision(streamId: string): Promise<bigint | undefined> {
    const size = await this.signedSize();
    if (size === 0) return undefined;
    const cached = this.revisions.get(streamId);
    if (cached?.size === size) return cached.revision ?? undefined;
    const [row] = await this.client.query<{ revision: string | null }>(
      `select max(revision)::text as revision from ll_merkle_leaves where stream_id = $1 and idx < $2`,
      [streamId, size],
      { name: 'll_merkle_signed_tail' },
    );
    const revision = row?.revision == null ? null : BigInt(row.revision);
    this.revisions.set(streamId, { size, revision });
    return revision ?? undefined;
  }

  private async signedSize(): Promise<number> {
    const at = this.now();
    if (this.head && at - this.head.at < this.headTtlMs) return this.head.size;
    const [row] = await this.client.query<{ size: string | null }>(
      `select max(tree_size)::text as size from ll_tree_heads`,
      [],
      { name: 'll_merkle_signed_size' },
    );
    this.head = { size: row?.size == null ? 0 : Number(row.size), at };
    return this.head.size;
  }
}
