import { sealMatches } from '@ledgerline/ledger';
import type { EventStore } from '@ledgerline/event-store';
import { encodePosition, type Clock, type GlobalPosition } from '@ledgerline/kernel';
import { AlteredEventError, MerkleLogCorruptError } from './checkpoint.errors';
import { leafHashOf, leafInputOf } from './leaf';
import { MerkleFrontier } from './merkle';
import type { MerkleLogStore, StoredLeaf, StoredTreeHead } from './merkle-log-store';
import type { TreeHeadSigner } from './signing-key';

export interface CheckpointJobOptions {
  /** Events folded by one run at most; a larger backlog is signed over several runs. */
  readonly maxLeavesPerRun?: number;
  /** `$all` page size. */
  readonly pageSize?: number;
}

export type CheckpointOutcome =
  | {
      readonly status: 'signed';
      readonly head: StoredTreeHead;
      readonly added: number;
      /** True when more events were waiting than one run folds. */
      readonly more: boolean;
    }
  | { readonly status: 'unchanged'; readonly head: StoredTreeHead | undefined };

/**
 * Folds every event appended since the last checkpoint into the log's Merkle tree, in `$all`
 * order, and signs the new tree head. Before an event becomes a leaf its seal is checked against
 * its content: the job never signs over an unsealed or altered event (it stops, naming it).
 * Safe to run from several processes: one wins each round, the others get CheckpointRaceError.
 */
export class CheckpointJob {
  private readonly maxLeaves: number;
  private readonly pageSize: number;

  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly log: MerkleLogStore,
    private readonly signer: TreeHeadSigner,
    private readonly clock: Clock,
    options: CheckpointJobOptions = {},
  ) {
    this.maxLeaves = options.maxLeavesPerRun ?? 100_000;
    this.pageSize = options.pageSize ?? 1_000;
  }

  async run(): Promise<CheckpointOutcome> {
    const last = await this.log.latestHead();
    const frontier = last
      ? MerkleFrontier.restore(last.treeSize, last.frontier)
      : MerkleFrontier.empty();
    if (last && frontier.root().toString('hex') !== last.rootHash) {
      throw new MerkleLogCorruptError(
        `the stored frontier of the head of size ${last.treeSize} does not match its signed root`,
      );
    }
    const fromSize = frontier.size;
    const leaves: StoredLeaf[] = [];
    let after: GlobalPosition | undefined = last?.lastPosition;
    let more = true;
    while (more && leaves.length < this.maxLeaves) {
      const page = await this.store.readAll({
        after,
        maxCount: Math.min(this.pageSize, this.maxLeaves - leaves.length),
      });
      for (const event of page.events) {
        const input = leafInputOf(event);
        if (!sealMatches(event)) {
          throw new AlteredEventError(
            encodePosition(event.position),
            event.streamId,
            event.revision,
          );
        }
        const leafHash = leafHashOf(input);
        frontier.append(leafHash);
        leaves.push({
          idx: fromSize + leaves.length,
          position: event.position,
          tenantId: event.tenantId,
          streamId: event.streamId,
          revision: event.revision,
          eventId: input.eventId,
          recordedAt: event.recordedAt,
          leafHash,
        });
      }
      after = page.next;
      more = page.more;
    }
    const lastLeaf = leaves[leaves.length - 1];
    if (!lastLeaf) return { status: 'unchanged', head: last };

    // Heads are signed in order of time as well as size; a clock that stepped back does not undo that.
    const now = this.clock.now();
    const previous = last ? new Date(last.timestamp) : undefined;
    const signedAt = previous && previous > now ? previous : now;
    const signed = this.signer.signTreeHead({
      treeSize: frontier.size,
      rootHash: frontier.root().toString('hex'),
      timestamp: signedAt.toISOString(),
    });
    const head: StoredTreeHead = {
      ...signed,
      lastPosition: lastLeaf.position,
      keyFingerprint: this.signer.certificate.fingerprint,
      frontier: frontier.peaksHex(),
    };
    await this.log.append(fromSize, leaves, head);
    return { status: 'signed', head, added: leaves.length, more };
  }
}
