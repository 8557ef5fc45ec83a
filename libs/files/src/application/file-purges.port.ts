/** A data key whose files' blobs have not been purged yet. */
export interface PurgeCandidate {
  readonly tenantId: string;
  readonly keyId: string;
}

/**
 * What the retention job reads and writes about purged blobs: the files read model's keys and
 * blob keys, and `ll_file_purges`, the record of which keys' blobs are gone.
 *
 * Every adapter guarantees: each method is one statement; `recordPurge` is idempotent (a key
 * purged twice keeps its first record), and a key with a purge record is never a candidate again.
 */
export interface FilePurges {
  /** Data keys of stored files with no purge record, at most `limit`, distinct. */
  candidates(limit: number): Promise<PurgeCandidate[]>;
  /** The blob keys (bodies and thumbnails) of every file sealed under `keyId`. */
  blobsUnder(keyId: string): Promise<string[]>;
  recordPurge(purge: {
    readonly keyId: string;
    readonly tenantId: string;
    readonly blobs: number;
    readonly at: Date;
  }): Promise<void>;
}
