import type { z } from 'zod';
import {
  auditBundleSchema,
  parseManifest,
  signedTreeHeadSchema,
  type AuditBundle,
  type BundleRecord,
} from './audit-bundle';
import { canonicalHeader, chainHash } from '@ledgerline/ledger';
import { accessContentDigest, CONTENT_DIGEST_KEY } from '../access/access-content';
import { parseAccessRecorded } from '../access/access-recorded.event';
import { leafHashOf } from './leaf';
import { verifyConsistency, verifyInclusion } from './merkle';
import { SigningCertificate, type SignedTreeHead } from './tree-head';
import { Findings, type Finding } from './verification-report';

export interface VerifyBundleOptions {
  /** The certificate the auditor trusts (PEM): the bundle's must be this one. */
  readonly trustedCertificatePem?: string;
  /** The text of a head the auditor saw before (head.json): the bundle must not roll back from it. */
  readonly knownHeadText?: string;
  /** How to name the bundle in findings. Default `bundle.json`. */
  readonly source?: string;
}

export interface BundleVerification {
  readonly ok: boolean;
  readonly failures: readonly Finding[];
  /** What was checked, and what could not be (an unpinned certificate). */
  readonly notes: readonly string[];
  /** The bundle's latest head, when the bundle could be read. */
  readonly treeHead?: SignedTreeHead;
  readonly tenantId?: string;
  readonly records: number;
  readonly certificateFingerprint?: string;
  readonly pinned: boolean;
}

const hex = (b: Buffer) => b.toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');
const headName = (h: SignedTreeHead) => `(size ${h.treeSize}, signed ${h.timestamp})`;

/**
 * Checks an audit bundle offline, trusting nothing but the certificate (pinned with
 * `trustedCertificatePem`, or else the bundle's own, which is then said to be unpinned):
 * structure, the signatures of every head and of the manifest, each record's leaf and inclusion
 * proof, the consistency of earlier heads, record order and per-stream hash chains, the manifest's
 * completeness, and no rollback from a known head. Every failure names what and where.
 */
export function verifyBundle(input: string, options: VerifyBundleOptions = {}): BundleVerification {
  const source = options.source ?? 'bundle.json';
  const findings = new Findings();
  const notes: string[] = [];
  const done = (extra: Partial<BundleVerification> = {}): BundleVerification => ({
    ok: findings.count === 0,
    failures: findings.all(),
    notes,
    records: 0,
    pinned: false,
    ...extra,
  });

  const parsed = parseJson(input);
  if ('problem' in parsed) {
    findings.fail('format', source, `not valid JSON (truncated or malformed): ${parsed.problem}`);
    return done();
  }
  const checked = auditBundleSchema.safeParse(parsed.value);
  if (!checked.success) {
    reportIssues(findings, source, checked.error.issues);
    return done();
  }
  const bundle = checked.data;
  const head = bundle.treeHead;

  // The certificate: the pinned one decides; without a pin, the bundle's is taken on trust.
  let certificate: SigningCertificate;
  try {
    certificate = SigningCertificate.fromPem(bundle.certificate);
  } catch (error) {
    findings.fail('certificate', `${source}: certificate`, (error as Error).message);
    return done({ tenantId: bundle.tenantId, records: bundle.records.length });
  }
  let pinned = false;
  if (options.trustedCertificatePem !== undefined) {
    let trusted: SigningCertificate | undefined;
    try {
      trusted = SigningCertificate.fromPem(options.trustedCertificatePem);
    } catch (error) {
      findings.fail('certificate', 'pinned certificate', (error as Error).message);
    }
    if (trusted) {
      pinned = true;
      if (trusted.fingerprint !== certificate.fingerprint) {
        findings.fail(
          'certificate',
          `${source}: certificate`,
          `SHA-256 fingerprint ${certificate.fingerprint} is not the pinned certificate's ${trusted.fingerprint}`,
        );
      }
      certificate = trusted;
    }
  } else {
    notes.push(
      `certificate not pinned: signatures were checked with the bundle's own certificate (SHA-256 fingerprint ${certificate.fingerprint}); pass --trust cert.pem to pin it`,
    );
  }
  const signer = pinned ? 'the pinned certificate' : "the bundle's certificate";

  if (!certificate.verifyTreeHead(head)) {
    findings.fail(
      'tree-head',
      `signed tree head ${headName(head)}`,
      `signature does not verify with ${signer}`,
    );
  }
  const signedAt = new Date(head.timestamp);
  if (signedAt < certificate.validFrom || signedAt > certificate.validTo) {
    findings.fail(
      'tree-head',
      `signed tree head ${headName(head)}`,
      "signed outside the certificate's validity period",
    );
  }

  checkEarlierHeads(bundle, certificate, signer, findings);
  if (options.knownHeadText !== undefined) {
    checkKnownHead(bundle, options.knownHeadText, certificate, signer, findings);
  }
  checkRecords(bundle, findings);
  checkManifest(bundle, certificate, signer, findings);

  const failed = findings.count;
  const proven = bundle.records.filter((r) => r.access).length;
  if (proven > 0) {
    notes.push(`${proven} access record(s) carry their content, checked against their seals`);
  }
  notes.push(
    `${bundle.records.length} record(s) of tenant ${bundle.tenantId} checked against the signed tree head ${headName(head)}, root ${head.rootHash}`,
  );
  if (bundle.earlierHeads.length > 0) {
    notes.push(
      `${bundle.earlierHeads.length} earlier head(s) checked for consistency with it (sizes ${bundle.earlierHeads.map((h) => h.treeSize).join(', ')})`,
    );
  }
  return done({
    ok: failed === 0,
    treeHead: {
      treeSize: head.treeSize,
      rootHash: head.rootHash,
      timestamp: head.timestamp,
      signature: head.signature,
    },
    tenantId: bundle.tenantId,
    records: bundle.records.length,
    certificateFingerprint: certificate.fingerprint,
    pinned,
  });
}

function checkEarlierHeads(
  bundle: AuditBundle,
  certificate: SigningCertificate,
  signer: string,
  findings: Findings,
): void {
  const head = bundle.treeHead;
  let previous: SignedTreeHead | undefined;
  for (const [i, earlier] of bundle.earlierHeads.entries()) {
    const where = `earlier head ${i} ${headName(earlier)}`;
    if (!certificate.verifyTreeHead(earlier)) {
      findings.fail('earlier-head', where, `signature does not verify with ${signer}`);
    }
    if (previous && earlier.treeSize <= previous.treeSize) {
      findings.fail(
        'earlier-head',
        where,
        `not after earlier head ${i - 1} (size ${previous.treeSize}): heads must grow`,
      );
    }
    if (previous && earlier.timestamp < previous.timestamp) {
      findings.fail('earlier-head', where, `signed before earlier head ${i - 1}`);
    }
    if (earlier.treeSize > head.treeSize) {
      findings.fail(
        'earlier-head',
        where,
        `larger than the latest head (size ${head.treeSize}): the log was rolled back`,
      );
    } else if (earlier.timestamp > head.timestamp) {
      findings.fail('earlier-head', where, `signed after the latest head (${head.timestamp})`);
    } else if (
      !verifyConsistency(
        earlier.treeSize,
        head.treeSize,
        unhex(earlier.rootHash),
        unhex(head.rootHash),
        earlier.consistencyProof.map(unhex),
      )
    ) {
      findings.fail(
        'earlier-head',
        where,
        `consistency proof to the latest head (size ${head.treeSize}) does not verify: the log was rewritten since, or the proof is wrong`,
      );
    }
    previous = earlier;
  }
}

function checkKnownHead(
  bundle: AuditBundle,
  text: string,
  certificate: SigningCertificate,
  signer: string,
  findings: Findings,
): void {
  const parsed = parseJson(text);
  if ('problem' in parsed) {
    findings.fail('known-head', 'known head', `not valid JSON: ${parsed.problem}`);
    return;
  }
  const checked = signedTreeHeadSchema.safeParse(parsed.value);
  if (!checked.success) {
    reportIssues(findings, 'known head', checked.error.issues);
    return;
  }
  const known = checked.data;
  const head = bundle.treeHead;
  const where = `known head ${headName(known)}`;
  if (!certificate.verifyTreeHead(known)) {
    findings.fail('known-head', where, `signature does not verify with ${signer}`);
  }
  if (known.treeSize > head.treeSize) {
    findings.fail(
      'known-head',
      where,
      `rollback: the bundle's latest signed head ${headName(head)} is smaller than a head seen before`,
    );
  }
  if (known.timestamp > head.timestamp) {
    findings.fail(
      'known-head',
      where,
      `rollback: the bundle's latest signed head was signed at ${head.timestamp}, before a head seen before`,
    );
  }
  if (known.treeSize > head.treeSize) return;
  const same =
    known.treeSize === head.treeSize
      ? head
      : bundle.earlierHeads.find((h) => h.treeSize === known.treeSize);
  if (!same) {
    findings.fail(
      'known-head',
      where,
      `the bundle proves nothing about it: no consistency proof from size ${known.treeSize} (export again with --known-head)`,
    );
  } else if (same.rootHash !== known.rootHash) {
    findings.fail(
      'known-head',
      where,
      `fork: the bundle's head of size ${known.treeSize} has root ${same.rootHash}, the known head ${known.rootHash}`,
    );
  }
}

function checkRecords(bundle: AuditBundle, findings: Findings): void {
  const head = bundle.treeHead;
  const root = unhex(head.rootHash);
  const from = bundle.range.from;
  const to = bundle.range.to;
  const lastOfStream = new Map<string, { record: BundleRecord; index: number }>();
  let previous: BundleRecord | undefined;
  for (const [i, r] of bundle.records.entries()) {
    const where = recordName(i, r);
    if (r.tenantId !== bundle.tenantId) {
      findings.fail('record', where, `belongs to tenant ${r.tenantId}, not ${bundle.tenantId}`);
    }
    if ((from && r.recordedAt < from) || (to && r.recordedAt >= to)) {
      findings.fail('range', where, `recorded at ${r.recordedAt}, outside the exported range`);
    }
    if (previous && r.leafIndex <= previous.leafIndex) {
      findings.fail(
        'order',
        where,
        r.leafIndex === previous.leafIndex
          ? `same leaf as record ${i - 1}: duplicated`
          : `out of order: leaf ${r.leafIndex} comes after leaf ${previous.leafIndex} (record ${i - 1})`,
      );
    }
    previous = r;
    if (r.leafIndex >= head.treeSize) {
      findings.fail('inclusion', where, `leaf index is outside the tree of size ${head.treeSize}`);
    } else if (
      !verifyInclusion(leafHashOf(r), r.leafIndex, head.treeSize, r.inclusionProof.map(unhex), root)
    ) {
      findings.fail(
        'inclusion',
        where,
        `not in the signed tree ${headName(head)} at leaf ${r.leafIndex}: the record was altered or moved, or its proof is wrong`,
      );
    }
    checkChain(r, i, lastOfStream, findings);
    if (r.access) checkAccessContent(r, r.access, where, findings);
  }
}

/**
 * An access record's content, proven: the sealed event carried with it hashes to the record's
 * seal hash (which its leaf, and so the signed tree, covers), and the content digest in that
 * sealed metadata is the digest of the content shown.
 */
function checkAccessContent(
  r: BundleRecord,
  access: NonNullable<BundleRecord['access']>,
  where: string,
  findings: Findings,
): void {
  const header = canonicalHeader({
    tenantId: r.tenantId,
    streamId: r.streamId,
    revision: BigInt(r.revision),
    eventId: r.eventId,
    type: r.type,
    schemaVersion: r.schemaVersion,
    recordedAt: new Date(r.recordedAt),
    keyId: access.keyId,
    epoch: access.epoch,
    metadata: access.metadata,
  });
  if (chainHash(header, Buffer.from(access.sealedBody, 'base64'), r.sealPrev) !== r.sealHash) {
    findings.fail(
      'content',
      where,
      "the sealed event carried with the access record does not hash to the record's seal: altered",
    );
    return;
  }
  const digest = access.metadata[CONTENT_DIGEST_KEY];
  if (typeof digest !== 'string') {
    findings.fail(
      'content',
      where,
      'the sealed event has no content digest: its content cannot be proven',
    );
  } else if (accessContentDigest(Buffer.from(access.content, 'utf8')) !== digest) {
    findings.fail(
      'content',
      where,
      'the access record differs from the content digest sealed with it: altered',
    );
  } else if (!parseAccessRecorded(Buffer.from(access.content, 'utf8'))) {
    findings.fail('content', where, 'the content is not an access record');
  }
}

/** Within one stream, records follow each other by revision and hash (`sealPrev`). */
function checkChain(
  r: BundleRecord,
  i: number,
  lastOfStream: Map<string, { record: BundleRecord; index: number }>,
  findings: Findings,
): void {
  const where = recordName(i, r);
  const revision = BigInt(r.revision);
  if ((revision === 0n) !== (r.sealPrev === null)) {
    findings.fail(
      'chain',
      where,
      revision === 0n
        ? "a stream's first event has no previous hash, this one has"
        : 'has no previous hash, yet is not the first event of its stream',
    );
  }
  const last = lastOfStream.get(r.streamId);
  if (last) {
    const lastRevision = BigInt(last.record.revision);
    const other = `record ${last.index} (revision ${last.record.revision})`;
    if (revision <= lastRevision) {
      findings.fail(
        'order',
        where,
        `stream ${r.streamId} revision ${r.revision} comes after ${other}: reordered`,
      );
    } else if (revision > lastRevision + 1n) {
      findings.fail(
        'chain',
        where,
        `stream ${r.streamId} revision(s) ${(lastRevision + 1n).toString()}..${(revision - 1n).toString()} missing between ${other} and this record`,
      );
    } else if (r.sealPrev !== last.record.sealHash) {
      findings.fail(
        'chain',
        where,
        `previous hash does not match the seal hash of stream ${r.streamId} ${other}`,
      );
    }
  }
  if (!last || revision > BigInt(last.record.revision)) {
    lastOfStream.set(r.streamId, { record: r, index: i });
  }
}

function checkManifest(
  bundle: AuditBundle,
  certificate: SigningCertificate,
  signer: string,
  findings: Findings,
): void {
  const { text, signature } = bundle.manifest;
  if (!certificate.verify(Buffer.from(text, 'utf8'), Buffer.from(signature, 'base64'))) {
    findings.fail('manifest', 'manifest', `signature does not verify with ${signer}`);
  }
  const manifest = parseManifest(text);
  if ('problem' in manifest) {
    findings.fail('manifest', 'manifest', `unreadable: ${manifest.problem}`);
    return;
  }
  const head = bundle.treeHead;
  const mismatch = (what: string, inManifest: string, inBundle: string) => {
    if (inManifest !== inBundle) {
      findings.fail(
        'manifest',
        'manifest',
        `${what} is ${inManifest} in the signed manifest but ${inBundle} in the bundle`,
      );
    }
  };
  mismatch('tenant', manifest.tenantId, bundle.tenantId);
  mismatch('range start', manifest.from ?? '-', bundle.range.from ?? '-');
  mismatch('range end', manifest.to ?? '-', bundle.range.to ?? '-');
  mismatch('tree size', String(manifest.treeSize), String(head.treeSize));
  mismatch('root', manifest.rootHash, head.rootHash);
  mismatch('export time', manifest.exportedAt, bundle.exportedAt);

  const listed = new Map(manifest.entries.map((e) => [e.leafIndex, e.leafHash]));
  const present = new Set<number>();
  for (const [i, r] of bundle.records.entries()) {
    present.add(r.leafIndex);
    const hash = listed.get(r.leafIndex);
    if (hash === undefined) {
      findings.fail('record', recordName(i, r), 'not listed in the signed export manifest');
    } else if (hash !== hex(leafHashOf(r))) {
      findings.fail(
        'record',
        recordName(i, r),
        'differs from the leaf listed for it in the signed export manifest: altered',
      );
    }
  }
  // Records by leaf index, to say between which two a missing one belongs.
  const byLeaf = bundle.records
    .map((r, i) => ({ leaf: r.leafIndex, i }))
    .sort((a, b) => a.leaf - b.leaf);
  for (const e of manifest.entries) {
    if (present.has(e.leafIndex)) continue;
    let lo = 0;
    let hi = byLeaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byLeaf[mid]!.leaf < e.leafIndex) lo = mid + 1;
      else hi = mid;
    }
    const before = byLeaf[lo - 1];
    const after = byLeaf[lo];
    const between = [
      before ? `after record ${before.i}` : 'before the first record',
      after ? `before record ${after.i}` : 'at the end',
    ].join(', ');
    findings.fail(
      'record',
      `leaf ${e.leafIndex} (listed in the signed export manifest)`,
      `record missing from the bundle (${between})`,
    );
  }
}

function recordName(i: number, r: { eventId: string; leafIndex: number }): string {
  return `record ${i} (event ${r.eventId}, leaf ${r.leafIndex})`;
}

function parseJson(text: string): { value: unknown } | { problem: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : 'unparseable' };
  }
}

function reportIssues(findings: Findings, source: string, issues: readonly z.core.$ZodIssue[]) {
  for (const issue of issues.slice(0, 50)) {
    const path = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    findings.fail('format', `${source}: ${path || '(top level)'}`, issue.message);
  }
  if (issues.length > 50) {
    findings.fail('format', source, `${issues.length - 50} further problem(s) not listed`);
  }
}
