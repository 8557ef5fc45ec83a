import type { EventStore } from '@ledgerline/event-store';
import {
  ValidationError,
  encodePosition,
  type Clock,
  type RecordedEvent,
} from '@ledgerline/kernel';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  manifestText,
  type AuditBundle,
  type BundleRecord,
  type EarlierHead,
} from './audit-bundle';
import { SEAL_KEY, sealOf, type Ledger } from '@ledgerline/ledger';
import { CONTENT_DIGEST_KEY } from '../access/access-content';
import { ACCESS_RECORDED } from '../access/access-recorded.event';
import { auditStreamId } from '../audit-stream';
import { MerkleLogCorruptError, NoCheckpointError, UnsealedEventError } from './checkpoint.errors';
import { LEAF_FORMAT, leafInputOf } from './leaf';
import { MerkleTree } from './merkle';
import type { MerkleLogStore, StoredLeaf } from './merkle-log-store';
import type { TreeHeadSigner } from './signing-key';
import { TREE_HEAD_FORMAT, type SignedTreeHead } from './tree-head';

export interface ExportRequest {
  readonly tenantId: string;
  /** Inclusive: events recorded at or after. */
  readonly from?: Date;
  /** Exclusive: events recorded before. */
  readonly to?: Date;
  /** A head the auditor saw before: the bundle then proves the latest head extends it. */
  readonly knownHead?: SignedTreeHead;
  /** Earlier heads in the range carried at most (the most recent ones). */
  readonly maxEarlierHeads?: number;
}

export interface ExportResult {
  readonly bundle: AuditBundle;
  /** What the operator should know: events missing from the log, uncheckpointed events… */
  readonly warnings: readonly string[];
}

const READ_PAGE = 1_000;

/**
 * Builds a tenant's audit bundle against the latest signed tree head. Records are rebuilt from the
 * event store as it is now, while proofs and the manifest come from the signed tree: an event
 * altered or removed since it was signed makes the bundle fail verification, as it should.
 */
export class AuditExporter {
  constructor(
    private readonly store: Pick<EventStore, 'readStream' | 'readAll'>,
    private readonly log: MerkleLogStore,
    private readonly signer: TreeHeadSigner,
    private readonly clock: Clock,
    /** Opens the tenant's access events, whose content the bundle carries (without it: none). */
    private readonly ledger?: Pick<Ledger, 'open'>,
  ) {}

  async export(request: ExportRequest): Promise<ExportResult> {
    const { tenantId, from, to, knownHead } = request;
    if (!tenantId || /[\p{Cc}]/u.test(tenantId)) {
      throw new ValidationError('a tenant id without control characters is required', 'tenant');
    }
    if (from && to && from >= to) throw new ValidationError('--from must be before --to', 'from');
    const latest = await this.log.latestHead();
    if (!latest) throw new NoCheckpointError('nothing has been checkpointed yet: run a checkpoint');
    const warnings: string[] = [];
    if (latest.keyFingerprint !== this.signer.certificate.fingerprint) {
      warnings.push(
        `the latest head was signed by the key with certificate fingerprint ${latest.keyFingerprint}, not the current one`,
      );
    }

    const newer = await this.store.readAll({ after: latest.lastPosition, maxCount: 1 });
    if (newer.events.length > 0) {
      warnings.push(
        `events were appended after the latest checkpoint (size ${latest.treeSize}) and are not in this bundle: run a checkpoint first to include them`,
      );
    }

    const tree = MerkleTree.fromLeafHashes(await this.log.leafHashes(0, latest.treeSize));
    if (tree.size !== latest.treeSize || tree.root().toString('hex') !== latest.rootHash) {
      throw new MerkleLogCorruptError(
        `the stored leaves do not add up to the signed head of size ${latest.treeSize}: run verify-log`,
      );
    }

    const leaves = await this.log.tenantLeaves(tenantId, { below: latest.treeSize, from, to });
    const events = await this.eventsOf(leaves);
    const records: BundleRecord[] = [];
    for (const leaf of leaves) {
      const event = events.get(key(leaf.streamId, leaf.revision));
      const where = `leaf ${leaf.idx} (event ${leaf.eventId}, position ${encodePosition(leaf.position)}, stream ${leaf.streamId} revision ${leaf.revision.toString()})`;
      if (!event) {
        warnings.push(`${where} is no longer in the event log: run verify-log`);
        continue;
      }
      let input;
      try {
        input = leafInputOf(event);
      } catch (error) {
        if (!(error instanceof UnsealedEventError)) throw error;
        warnings.push(`${where} has lost its seal: run verify-log`);
        continue;
      }
      const access = await this.accessContentOf(event, tenantId);
      if (access === 'unprovable') {
        warnings.push(
          `${where} is an access event whose content cannot be proven (recorded before content digests, or shredded): exported without it`,
        );
      }
      records.push({
        leafIndex: leaf.idx,
        ...input,
        inclusionProof: tree.inclusionProof(leaf.idx).map(hex),
        ...(typeof access === 'object' ? { access } : {}),
      });
    }

    const earlier = await this.log.heads({
      from,
      to,
      below: latest.treeSize,
      limit: request.maxEarlierHeads ?? 1_000,
    });
    const earlierHeads: EarlierHead[] = earlier.map((h) => ({
      ...signedHead(h),
      consistencyProof: tree.consistencyProof(h.treeSize).map(hex),
    }));
    if (knownHead && !earlierHeads.some((h) => h.treeSize === knownHead.treeSize)) {
      if (knownHead.treeSize > latest.treeSize) {
        warnings.push(
          `the known head (size ${knownHead.treeSize}) is larger than the latest signed head (size ${latest.treeSize}): the log was rolled back`,
        );
      } else if (knownHead.treeSize > 0 && knownHead.treeSize < latest.treeSize) {
        earlierHeads.push({
          ...signedHead(knownHead),
          consistencyProof: tree.consistencyProof(knownHead.treeSize).map(hex),
        });
        earlierHeads.sort((a, b) => a.treeSize - b.treeSize);
      }
    }

    const range = { from: from?.toISOString() ?? null, to: to?.toISOString() ?? null };
    const exportedAt = this.clock.now().toISOString();
    const text = manifestText({
      tenantId,
      ...range,
      treeSize: latest.treeSize,
      rootHash: latest.rootHash,
      exportedAt,
      entries: leaves.map((l) => ({ leafIndex: l.idx, leafHash: hex(l.leafHash) })),
    });
    const bundle: AuditBundle = {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      leafFormat: LEAF_FORMAT,
      treeHeadFormat: TREE_HEAD_FORMAT,
      tenantId,
      range,
      exportedAt,
      certificate: this.signer.certificate.pem,
      treeHead: signedHead(latest),
      earlierHeads,
      records,
      manifest: {
        text,
        signature: this.signer.sign(Buffer.from(text, 'utf8')).toString('base64'),
      },
    };
    return { bundle, warnings };
  }

  /**
   * An access event's content and what rebuilds its seal, for the bundle; undefined for any other
   * event, `unprovable` for one that has no content digest or can no longer be opened.
   */
  private async accessContentOf(
    event: RecordedEvent,
    tenantId: string,
  ): Promise<BundleRecord['access'] | 'unprovable' | undefined> {
    if (
      !this.ledger ||
      event.type !== ACCESS_RECORDED ||
      event.streamId !== auditStreamId(tenantId)
    ) {
      return undefined;
    }
    const seal = sealOf(event.metadata);
    const metadata = withoutSealOf(event.metadata);
    if (!seal || typeof metadata[CONTENT_DIGEST_KEY] !== 'string') return 'unprovable';
    const opened = await this.ledger.open(event);
    if (opened.body.status !== 'available') return 'unprovable';
    return {
      content: opened.body.payload.toString('utf8'),
      metadata,
      keyId: seal.key,
      epoch: seal.epoch,
      sealedBody: Buffer.from(event.data).toString('base64'),
    };
  }

  /** The leaves' events, read stream by stream over each stream's revision span. */
  private async eventsOf(leaves: readonly StoredLeaf[]): Promise<Map<string, RecordedEvent>> {
    const spans = new Map<string, { min: bigint; max: bigint }>();
    for (const l of leaves) {
      const s = spans.get(l.streamId);
      if (!s) spans.set(l.streamId, { min: l.revision, max: l.revision });
      else {
        if (l.revision < s.min) s.min = l.revision;
        if (l.revision > s.max) s.max = l.revision;
      }
    }
    const out = new Map<string, RecordedEvent>();
    for (const [streamId, span] of spans) {
      let next = span.min;
      while (next <= span.max) {
        const page = await this.store.readStream(streamId, {
          fromRevision: next,
          maxCount: READ_PAGE,
        });
        for (const e of page) out.set(key(streamId, e.revision), e);
        const last = page[page.length - 1];
        if (!last || page.length < READ_PAGE) break;
        next = last.revision + 1n;
      }
    }
    return out;
  }
}

/** The clear metadata as the seal hash covers it: without the seal itself. */
function withoutSealOf(metadata: RecordedEvent['metadata']): Record<string, unknown> {
  const { [SEAL_KEY]: _seal, ...rest } = metadata;
  return rest;
}

const key = (streamId: string, revision: bigint) => `${revision.toString()} ${streamId}`;
const hex = (b: Buffer) => b.toString('hex');
const signedHead = (h: SignedTreeHead): SignedTreeHead => ({
  treeSize: h.treeSize,
  rootHash: h.rootHash,
  timestamp: h.timestamp,
  signature: h.signature,
});
