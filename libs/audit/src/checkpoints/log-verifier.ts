import { sealMatches } from '@ledgerline/ledger';
import type { EventStore } from '@ledgerline/event-store';
import {
  comparePositions,
  encodePosition,
  type GlobalPosition,
  type RecordedEvent,
} from '@ledgerline/kernel';
import { signedTreeHeadSchema } from './audit-bundle';
import { UnsealedEventError } from './checkpoint.errors';
import { leafHashOf, leafInputOf } from './leaf';
import { MerkleFrontier } from './merkle';
import type { MerkleLogStore, StoredLeaf, StoredTreeHead } from './merkle-log-store';
import type { SigningCertificate, SignedTreeHead } from './tree-head';
import { Findings, type Finding } from './verification-report';

export interface LogVerification {
  readonly ok: boolean;
  readonly failures: readonly Finding[];
  readonly notes: readonly string[];
  /** Events read from the log. */
  readonly events: number;
  /** Signed heads checked. */
  readonly heads: number;
  readonly latestHead?: SignedTreeHead;
}

export interface VerifyLogOptions {
  /** A head seen before (e.g. from an earlier export): the stored heads must not roll back from it. */
  readonly knownHead?: SignedTreeHead;
}

const PAGE = 1_000;

/**
 * Checks the event log as it is now against the signed tree heads: every event's content against
 * its seal, each stream's chain, every leaf recomputed from the log against the leaf that was
 * signed, and every signed root against the root recomputed from the log. A flipped byte, a
 * deleted or inserted event, or a truncated tail is reported with its position.
 */
export class LogVerifier {
  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly log: MerkleLogStore,
    /** The certificate heads are checked with; without one, every head is reported unchecked. */
    private readonly certificate: SigningCertificate | undefined,
  ) {}

  async verify(options: VerifyLogOptions = {}): Promise<LogVerification> {
    const findings = new Findings();
    const notes: string[] = [];
    const heads = await this.log.heads();
    const latest = heads[heads.length - 1];
    this.checkHeads(heads, findings);
    if (options.knownHead) checkKnownHead(options.knownHead, heads, this.certificate, findings);
    if (this.certificate)
      notes.push(`certificate SHA-256 fingerprint ${this.certificate.fingerprint}`);

    const signedSize = latest?.treeSize ?? 0;
    const stored = new StoredLeaves(this.log);
    const frontier = MerkleFrontier.empty();
    const streams = new Map<string, { revision: bigint; hash: string }>();
    let nextHead = 0;
    let events = 0;
    let after: GlobalPosition | undefined;
    for (let more = true; more;) {
      const page = await this.store.readAll({ after, maxCount: PAGE });
      for (const event of page.events) {
        events += 1;
        const position = encodePosition(event.position);
        const where = `position ${position} (stream ${event.streamId} revision ${event.revision.toString()}, event ${event.eventId})`;
        let leafHash: Buffer;
        try {
          leafHash = leafHashOf(leafInputOf(event));
        } catch (error) {
          if (!(error instanceof UnsealedEventError)) throw error;
          findings.fail('content', where, 'the event has no seal');
          continue;
        }
        if (!sealMatches(event)) {
          findings.fail('content', where, 'content does not match its seal hash: altered');
        }
        checkChain(event, where, streams, findings);

        // Line the log up with the signed leaves by position, so one missing or extra event is
        // reported once rather than shifting every leaf after it.
        let leaf = await stored.peek();
        while (leaf && comparePositions(leaf.position, event.position) < 0) {
          if (leaf.idx < signedSize) reportMissing(leaf, findings);
          await stored.next();
          leaf = await stored.peek();
        }
        if (leaf && comparePositions(leaf.position, event.position) === 0) {
          if (!leaf.leafHash.equals(leafHash)) {
            findings.fail(
              'leaf',
              `leaf ${leaf.idx} at ${where}`,
              'the event differs from the one signed into the tree',
            );
          }
          await stored.next();
        } else if (comparePositions(event.position, latest?.lastPosition ?? START) <= 0) {
          findings.fail(
            'leaf',
            where,
            'the event is not among the signed leaves: inserted after its place was signed',
          );
        }

        frontier.append(leafHash);
        while (nextHead < heads.length && heads[nextHead]!.treeSize === frontier.size) {
          const head = heads[nextHead]!;
          if (frontier.root().toString('hex') !== head.rootHash) {
            findings.fail(
              'tree-head',
              `signed head (size ${head.treeSize}, signed ${head.timestamp})`,
              `the root recomputed from the log's first ${head.treeSize} events differs from the signed root (first difference at or before ${position})`,
            );
          }
          nextHead += 1;
        }
        const known = options.knownHead;
        if (known && known.treeSize === frontier.size) {
          if (frontier.root().toString('hex') !== known.rootHash) {
            findings.fail(
              'known-head',
              `known head (size ${known.treeSize}, signed ${known.timestamp})`,
              `the root recomputed from the log's first ${known.treeSize} events differs from the known root: the log was rewritten`,
            );
          }
        }
      }
      after = page.next;
      more = page.more;
    }

    for (let leaf = await stored.peek(); leaf; await stored.next(), leaf = await stored.peek()) {
      if (leaf.idx < signedSize) reportMissing(leaf, findings);
    }
    if (latest && frontier.size < latest.treeSize) {
      findings.fail(
        'truncation',
        `signed head (size ${latest.treeSize}, signed ${latest.timestamp})`,
        `the log holds ${frontier.size} event(s), fewer than the ${latest.treeSize} the head signed: ${latest.treeSize - frontier.size} missing`,
      );
    }

    if (!latest) notes.push('no signed checkpoint yet: nothing to check the log against');
    else {
      notes.push(
        `${heads.length} signed head(s) checked, the latest ${`(size ${latest.treeSize}, signed ${latest.timestamp}, root ${latest.rootHash})`}`,
      );
    }
    notes.push(`${events} event(s) read from the log`);
    if (events > signedSize) {
      notes.push(`${events - signedSize} event(s) not checkpointed yet`);
    }
    return {
      ok: findings.count === 0,
      failures: findings.all(),
      notes,
      events,
      heads: heads.length,
      latestHead: latest && {
        treeSize: latest.treeSize,
        rootHash: latest.rootHash,
        timestamp: latest.timestamp,
        signature: latest.signature,
      },
    };
  }

  private checkHeads(heads: readonly StoredTreeHead[], findings: Findings): void {
    let previous: StoredTreeHead | undefined;
    for (const head of heads) {
      const where = `signed head (size ${head.treeSize}, signed ${head.timestamp})`;
      if (!this.certificate) {
        findings.fail('certificate', where, 'no signing certificate to check the signature with');
      } else if (!this.certificate.verifyTreeHead(head)) {
        findings.fail(
          'tree-head',
          where,
          `signature does not verify with the certificate (fingerprint ${this.certificate.fingerprint})`,
        );
      }
      if (previous && head.timestamp < previous.timestamp) {
        findings.fail(
          'tree-head',
          where,
          `signed before the smaller head of size ${previous.treeSize} (${previous.timestamp})`,
        );
      }
      previous = head;
    }
  }
}

const START: GlobalPosition = { commit: 0n, prepare: 0n };

/** Reads the stored leaves page by page, in index order. */
class StoredLeaves {
  private buffer: StoredLeaf[] = [];
  private nextIdx = 0;
  private exhausted = false;

  constructor(private readonly log: MerkleLogStore) {}

  async peek(): Promise<StoredLeaf | undefined> {
    if (this.buffer.length === 0 && !this.exhausted) {
      this.buffer = await this.log.leaves(this.nextIdx, PAGE);
      if (this.buffer.length < PAGE) this.exhausted = true;
      this.nextIdx += this.buffer.length;
    }
    return this.buffer[0];
  }

  async next(): Promise<void> {
    await this.peek();
    this.buffer.shift();
  }
}

function reportMissing(leaf: StoredLeaf, findings: Findings): void {
  findings.fail(
    'leaf',
    `leaf ${leaf.idx} at position ${encodePosition(leaf.position)} (stream ${leaf.streamId} revision ${leaf.revision.toString()}, event ${leaf.eventId})`,
    'the signed event is missing from the log: deleted',
  );
}

function checkChain(
  event: RecordedEvent,
  where: string,
  streams: Map<string, { revision: bigint; hash: string }>,
  findings: Findings,
): void {
  const seal = leafInputOf(event);
  const last = streams.get(event.streamId);
  if (last) {
    if (event.revision !== last.revision + 1n) {
      findings.fail(
        'chain',
        where,
        event.revision > last.revision + 1n
          ? `revision(s) ${(last.revision + 1n).toString()}..${(event.revision - 1n).toString()} of the stream are missing`
          : `comes after revision ${last.revision.toString()} of the same stream: reordered`,
      );
    } else if (seal.sealPrev !== last.hash) {
      findings.fail('chain', where, "previous hash does not match the stream's previous event");
    }
  } else if (event.revision === 0n && seal.sealPrev !== null) {
    findings.fail('chain', where, "a stream's first event has a previous hash");
  }
  if (!last || event.revision > last.revision) {
    streams.set(event.streamId, { revision: event.revision, hash: seal.sealHash });
  }
}

function checkKnownHead(
  known: SignedTreeHead,
  heads: readonly StoredTreeHead[],
  certificate: SigningCertificate | undefined,
  findings: Findings,
): void {
  const where = `known head (size ${known.treeSize}, signed ${known.timestamp})`;
  if (!signedTreeHeadSchema.safeParse(known).success) {
    findings.fail('known-head', where, 'not a signed tree head');
    return;
  }
  if (!certificate?.verifyTreeHead(known)) {
    findings.fail('known-head', where, 'signature does not verify with the certificate');
  }
  const latest = heads[heads.length - 1];
  if (!latest || latest.treeSize < known.treeSize) {
    findings.fail(
      'known-head',
      where,
      `rollback: the largest stored signed head has size ${latest?.treeSize ?? 0}`,
    );
    return;
  }
  const same = heads.find((h) => h.treeSize === known.treeSize);
  if (same && same.rootHash !== known.rootHash) {
    findings.fail(
      'known-head',
      where,
      `fork: the stored head of that size has root ${same.rootHash}, the known head ${known.rootHash}`,
    );
  }
}
