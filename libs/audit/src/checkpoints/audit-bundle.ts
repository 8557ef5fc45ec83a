import { z } from 'zod';
import { LEAF_FORMAT } from './leaf';
import { TREE_HEAD_FORMAT } from './tree-head';

/**
 * The audit bundle, version 2: everything an auditor needs to check a tenant's part of the log
 * offline, without trusting the operator's database. JSON; hashes in lowercase hex, signatures in
 * base64, sizes and indexes as JSON numbers, revisions and positions as decimal strings.
 */
export const BUNDLE_FORMAT = 'ledgerline-audit-bundle';
/** Version 2 added each access record's content (`access`); version 1 bundles still verify. */
export const BUNDLE_VERSION = 2;
/** Label of the signed export manifest text. */
export const MANIFEST_FORMAT = 'ledgerline-export-v1';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64');
const isoTime = z.iso.datetime({ precision: 3 });
const size = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'expected a decimal integer');

export const signedTreeHeadSchema = z.strictObject({
  treeSize: size,
  rootHash: hex32,
  timestamp: isoTime,
  signature: base64,
});

export const bundleRecordSchema = z.strictObject({
  leafIndex: size,
  position: z.string().regex(/^\d{1,20}\.\d{1,20}$/, 'expected <commit>.<prepare>'),
  tenantId: z.string().min(1),
  streamId: z.string().min(1),
  revision: decimal,
  eventId: z.string().min(1),
  type: z.string().min(1),
  schemaVersion: z.number().int().min(0),
  recordedAt: isoTime,
  sealHash: hex32,
  sealPrev: hex32.nullable(),
  /** RFC 9162 inclusion path of the leaf in the tree of `treeHead.treeSize`. */
  inclusionProof: z.array(hex32).max(64),
  /**
   * For an access event (`AccessRecorded` of the tenant's audit stream): what it says, with what
   * proves it. `metadata`, `keyId`, `epoch` and `sealedBody` rebuild the event's seal hash (which
   * the leaf covers); the metadata's `contentDigest` is the digest of `content` (access-content.ts).
   * Ids, codes and times only, as every access record.
   */
  access: z
    .strictObject({
      content: z.string().max(1_000_000),
      metadata: z.record(z.string(), z.unknown()),
      keyId: z.string().min(1),
      epoch: z.string().min(1),
      sealedBody: base64,
    })
    .optional(),
});

export const earlierHeadSchema = signedTreeHeadSchema.extend({
  /** RFC 9162 consistency proof from this head's tree to `treeHead`'s. */
  consistencyProof: z.array(hex32).max(128),
});

export const auditBundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.union([z.literal(1), z.literal(BUNDLE_VERSION)]),
  leafFormat: z.literal(LEAF_FORMAT),
  treeHeadFormat: z.literal(TREE_HEAD_FORMAT),
  tenantId: z.string().min(1),
  range: z.strictObject({ from: isoTime.nullable(), to: isoTime.nullable() }),
  exportedAt: isoTime,
  /** The deployment's signing certificate (PEM). */
  certificate: z.string().includes('-----BEGIN CERTIFICATE-----'),
  /** The latest signed tree head: every proof leads to it. */
  treeHead: signedTreeHeadSchema,
  /** Heads signed earlier (in the range, or the auditor's known head), proven consistent. */
  earlierHeads: z.array(earlierHeadSchema),
  /** The tenant's events in the range, in leaf order: metadata, and the content of access events. */
  records: z.array(bundleRecordSchema),
  /** What the export claims to hold, signed: the tenant's leaves in the range. */
  manifest: z.strictObject({ text: z.string().startsWith(MANIFEST_FORMAT), signature: base64 }),
});

export type AuditBundle = z.infer<typeof auditBundleSchema>;
export type BundleRecord = z.infer<typeof bundleRecordSchema>;
export type EarlierHead = z.infer<typeof earlierHeadSchema>;

/** One leaf the manifest lists. */
export interface ManifestEntry {
  readonly leafIndex: number;
  readonly leafHash: string;
}

export interface Manifest {
  readonly tenantId: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly treeSize: number;
  readonly rootHash: string;
  readonly exportedAt: string;
  readonly entries: readonly ManifestEntry[];
}

/**
 * The manifest's signed text, one fact per line:
 * `ledgerline-export-v1`, `tenant <id>`, `from <iso|->`, `to <iso|->`, `tree <size> <root>`,
 * `exported <iso>`, `records <n>`, then `<leaf index> <leaf hash>` per record.
 */
export function manifestText(m: Manifest): string {
  const lines = [
    MANIFEST_FORMAT,
    `tenant ${m.tenantId}`,
    `from ${m.from ?? '-'}`,
    `to ${m.to ?? '-'}`,
    `tree ${m.treeSize} ${m.rootHash}`,
    `exported ${m.exportedAt}`,
    `records ${m.entries.length}`,
    ...m.entries.map((e) => `${e.leafIndex} ${e.leafHash}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Parses a manifest text; returns a reason instead when it is not one. */
export function parseManifest(text: string): Manifest | { readonly problem: string } {
  const lines = text.split('\n');
  if (lines.pop() !== '') return { problem: 'does not end with a newline' };
  const field = (i: number, name: string): string | undefined => {
    const line = lines[i];
    return line?.startsWith(`${name} `) ? line.slice(name.length + 1) : undefined;
  };
  if (lines[0] !== MANIFEST_FORMAT) return { problem: `does not start with ${MANIFEST_FORMAT}` };
  const tenantId = field(1, 'tenant');
  const from = field(2, 'from');
  const to = field(3, 'to');
  const tree = /^(\d+) ([0-9a-f]{64})$/.exec(field(4, 'tree') ?? '');
  const exportedAt = field(5, 'exported');
  const count = /^(\d+)$/.exec(field(6, 'records') ?? '');
  if (!tenantId || !from || !to || !tree || !exportedAt || !count) {
    return { problem: 'header lines are missing or malformed' };
  }
  const entries: ManifestEntry[] = [];
  for (const [i, line] of lines.slice(7).entries()) {
    const m = /^(\d+) ([0-9a-f]{64})$/.exec(line);
    if (!m) return { problem: `entry line ${i + 1} is malformed` };
    entries.push({ leafIndex: Number(m[1]), leafHash: m[2]! });
  }
  if (entries.length !== Number(count[1])) {
    return { problem: `says ${count[1]} records but lists ${entries.length}` };
  }
  return {
    tenantId,
    from: from === '-' ? null : from,
    to: to === '-' ? null : to,
    treeSize: Number(tree[1]),
    rootHash: tree[2]!,
    exportedAt,
    entries,
  };
}
