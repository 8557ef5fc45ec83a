export {
  EMPTY_ROOT,
  MerkleFrontier,
  MerkleTree,
  leafHash,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle';
export { LEAF_FORMAT, leafData, leafHashOf, leafInputOf, type LeafInput } from './leaf';
export {
  TREE_HEAD_FORMAT,
  SigningCertificate,
  treeHeadText,
  type SignedTreeHead,
  type TreeHead,
} from './tree-head';
export { TreeHeadSigner, type TreeHeadSignerOptions } from './signing-key';
export { MerkleLogStore, type StoredLeaf, type StoredTreeHead } from './merkle-log-store';
export { MerkleSignedTails, type MerkleSignedTailsOptions } from './merkle-signed-tails';
export { SignedTailsModule } from './signed-tails.module';
export { CheckpointJob, type CheckpointJobOptions, type CheckpointOutcome } from './checkpoint-job';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  MANIFEST_FORMAT,
  auditBundleSchema,
  signedTreeHeadSchema,
  manifestText,
  parseManifest,
  type AuditBundle,
  type BundleRecord,
  type EarlierHead,
  type Manifest,
} from './audit-bundle';
export { AuditExporter, type ExportRequest, type ExportResult } from './audit-exporter';
export { verifyBundle, type BundleVerification, type VerifyBundleOptions } from './bundle-verifier';
export { LogVerifier, type LogVerification, type VerifyLogOptions } from './log-verifier';
export { formatFinding, type CheckName, type Finding } from './verification-report';
export {
  BUNDLE_FILES,
  OPENSSL_VERIFY_COMMANDS,
  readBundleText,
  writeBundleDirectory,
} from './bundle-files';
export {
  AlteredEventError,
  CheckpointRaceError,
  MerkleLogCorruptError,
  NoCheckpointError,
  SigningKeyError,
  UnsealedEventError,
} from './checkpoint.errors';
export { AUDIT_SIGNING_DIR, deploymentSigningDir, openDeploymentSigner } from './deployment-signer';
export { CheckpointSchedule } from './checkpoint-schedule';
