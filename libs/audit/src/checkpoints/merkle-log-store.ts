import { type SqlClient } from '@ledgerline/database';
import type { GlobalPosition } from '@ledgerline/kernel';
import { CheckpointRaceError } from './checkpoint.errors';
import type { SignedTreeHead } from './tree-head';

/** One leaf of the log's tree: the event it stands for, and its hash. */
export interface StoredLeaf {
  readonly idx: number;
  readonly position: GlobalPosition;
  readonly tenantId: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly eventId: string;
  readonly recordedAt: Date;
  readonly leafHash: Buffer;
}

/** A signed tree head as stored, with what the next checkpoint needs to continue. */
export interface StoredTreeHead extends SignedTreeHead {
  /** Position of the tree's last leaf: the next checkpoint reads `$all` after it. */
  readonly lastPosition: GlobalPosition;
  /** Fingerprint of the certificate whose key signed the head. */
  readonly keyFingerprint: string;
  /** Roots of the perfect subtrees of the tree, largest first (hex). */
  readonly frontier: readonly string[];
}

interface LeafRow {
  idx: string;
  commit_position: string;
  prepare_position: string;
  tenant_id: string;
  stream_id: string;
  revision: string;
  event_id: string;
  recorded_at: Date | string;
  leaf_hash: Uint8Array;
}

interface HeadRow {
  tree_size: string;
  root_hash: Uint8Array;
  last_commit_position: string;
  last_prepare_position: string;
  signed_at: Date | string;
  signature: Uint8Array;
  key_fingerprint: string;
  frontier: string[];
}

const LEAF_COLUMNS = `idx, commit_position::text as commit_position, prepare_position::text as prepare_position,
  tenant_id, stream_id, revision, event_id, recorded_at, leaf_hash`;
const HEAD_COLUMNS = `tree_size, root_hash, last_commit_position::text as last_commit_position,
  last_prepare_position::text as last_prepare_position, signed_at, signature, key_fingerprint, frontier`;

// Serialises checkpoint writers across processes (arbitrary constant, distinct from migrations').
const LOCK_KEY = 7_341_516;
const INSERT_CHUNK = 1_000;

/**
 * The Merkle log's leaves and signed heads in SQL. Leaves are appended in index order together with
 * the head that covers them, in one transaction, under an advisory lock: a head never exists
 * without its leaves, and two writers can never interleave.
 */
export class MerkleLogStore {
  private constructor(private readonly client: SqlClient) {}

  static create(client: SqlClient): MerkleLogStore {
    return new MerkleLogStore(client);
  }

  async latestHead(): Promise<StoredTreeHead | undefined> {
    const [row] = await this.client.query<HeadRow>(
      `select ${HEAD_COLUMNS} from ll_tree_heads order by tree_size desc limit 1`,
    );
    return row && toHead(row);
  }

  async headOfSize(treeSize: number): Promise<StoredTreeHead | undefined> {
    const [row] = await this.client.query<HeadRow>(
      `select ${HEAD_COLUMNS} from ll_tree_heads where tree_size = $1`,
      [treeSize],
    );
    return row && toHead(row);
  }

  /** Heads in size order; optionally only those signed in [from, to) and smaller than `below`. */
  async heads(
    options: { from?: Date; to?: Date; below?: number; limit?: number } = {},
  ): Promise<StoredTreeHead[]> {
    const rows = await this.client.query<HeadRow>(
      `select * from (
         select ${HEAD_COLUMNS} from ll_tree_heads
          where ($1::timestamptz is null or signed_at >= $1)
            and ($2::timestamptz is null or signed_at < $2)
            and ($3::bigint is null or tree_size < $3)
          order by tree_size desc limit $4
       ) h order by tree_size`,
      [iso(options.from), iso(options.to), options.below ?? null, options.limit ?? null],
    );
    return rows.map(toHead);
  }

  /** Leaf hashes [from, to) in index order. */
  async leafHashes(from: number, to: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let start = from; start < to; start += 10_000) {
      const rows = await this.client.query<{ leaf_hash: Uint8Array }>(
        'select leaf_hash from ll_merkle_leaves where idx >= $1 and idx < $2 order by idx',
        [start, Math.min(to, start + 10_000)],
      );
      for (const r of rows) out.push(Buffer.from(r.leaf_hash));
    }
    return out;
  }

  /** Up to `limit` leaves from index `from` on. */
  async leaves(from: number, limit: number): Promise<StoredLeaf[]> {
    const rows = await this.client.query<LeafRow>(
      `select ${LEAF_COLUMNS} from ll_merkle_leaves where idx >= $1 order by idx limit $2`,
      [from, limit],
    );
    return rows.map(toLeaf);
  }

  /** A tenant's leaves below `below`, recorded in [from, to), in index order. */
  async tenantLeaves(
    tenantId: string,
    options: { below: number; from?: Date; to?: Date },
  ): Promise<StoredLeaf[]> {
    const rows = await this.client.query<LeafRow>(
      `select ${LEAF_COLUMNS} from ll_merkle_leaves
        where tenant_id = $1 and idx < $2
          and ($3::timestamptz is null or recorded_at >= $3)
          and ($4::timestamptz is null or recorded_at < $4)
        order by idx`,
      [tenantId, options.below, iso(options.from), iso(options.to)],
    );
    return rows.map(toLeaf);
  }

  /**
   * Appends `leaves` (indexes `fromSize`…) and the head covering them. Refuses with
   * CheckpointRaceError when the tree is no longer `fromSize` leaves large.
   */
  async append(
    fromSize: number,
    leaves: readonly StoredLeaf[],
    head: StoredTreeHead,
  ): Promise<void> {
    await this.client.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const [current] = await tx.query<{ size: string }>(
        'select coalesce(max(tree_size), 0) as size from ll_tree_heads',
      );
      const [leafCount] = await tx.query<{ n: string }>(
        'select coalesce(max(idx) + 1, 0) as n from ll_merkle_leaves',
      );
      if (Number(current!.size) !== fromSize || Number(leafCount!.n) !== fromSize) {
        throw new CheckpointRaceError(
          `the tree has ${current!.size} signed leaves (${leafCount!.n} stored), not ${fromSize}: another checkpoint ran meanwhile`,
        );
      }
      for (let i = 0; i < leaves.length; i += INSERT_CHUNK) {
        const chunk = leaves.slice(i, i + INSERT_CHUNK).map((l) => ({
          idx: l.idx,
          c: l.position.commit.toString(),
          p: l.position.prepare.toString(),
          t: l.tenantId,
          s: l.streamId,
          r: l.revision.toString(),
          e: l.eventId,
          at: l.recordedAt.toISOString(),
          h: l.leafHash.toString('hex'),
        }));
        await tx.query(
          `insert into ll_merkle_leaves
             (idx, commit_position, prepare_position, tenant_id, stream_id, revision, event_id, recorded_at, leaf_hash)
           select x.idx, x.c::numeric, x.p::numeric, x.t, x.s, x.r::bigint, x.e, x.at::timestamptz, decode(x.h, 'hex')
             from jsonb_to_recordset($1::jsonb)
               as x(idx bigint, c text, p text, t text, s text, r text, e text, at text, h text)`,
          [JSON.stringify(chunk)],
        );
      }
      await tx.query(
        `insert into ll_tree_heads
           (tree_size, root_hash, last_commit_position, last_prepare_position, signed_at, signature, key_fingerprint, frontier)
         values ($1, decode($2, 'hex'), $3::numeric, $4::numeric, $5::timestamptz, decode($6, 'base64'), $7, $8::jsonb)`,
        [
          head.treeSize,
          head.rootHash,
          head.lastPosition.commit.toString(),
          head.lastPosition.prepare.toString(),
          head.timestamp,
          head.signature,
          head.keyFingerprint,
          JSON.stringify(head.frontier),
        ],
      );
    });
  }
}

const iso = (d: Date | undefined): string | null => (d ? d.toISOString() : null);

function toLeaf(r: LeafRow): StoredLeaf {
  return {
    idx: Number(r.idx),
    position: { commit: BigInt(r.commit_position), prepare: BigInt(r.prepare_position) },
    tenantId: r.tenant_id,
    streamId: r.stream_id,
    revision: BigInt(r.revision),
    eventId: r.event_id,
    recordedAt: new Date(r.recorded_at),
    leafHash: Buffer.from(r.leaf_hash),
  };
}

function toHead(r: HeadRow): StoredTreeHead {
  return {
    treeSize: Number(r.tree_size),
    rootHash: Buffer.from(r.root_hash).toString('hex'),
    timestamp: new Date(r.signed_at).toISOString(),
    signature: Buffer.from(r.signature).toString('base64'),
    lastPosition: {
      commit: BigInt(r.last_commit_position),
      prepare: BigInt(r.last_prepare_position),
    },
    keyFingerprint: r.key_fingerprint,
    frontier: r.frontier,
  };
}
