import { join } from 'node:path';
import type { LedgerlineConfig } from '@ledgerline/kernel';
import { TreeHeadSigner } from './signing-key';
import { auditConfig } from '../audit.config';

/** Where a generated signing key and certificate live, under the data directory. */
export const AUDIT_SIGNING_DIR = 'audit-signing';

/**
 * The deployment's tree-head signer: the certificate and key given by
 * LEDGERLINE_AUDIT_SIGNING_CERT_FILE / _KEY_FILE, or else the pair generated under the data
 * directory (on first use when `createIfMissing`).
 */
export function openDeploymentSigner(
  config: Pick<LedgerlineConfig, 'storage' | 'slice'>,
  createIfMissing: boolean,
): Promise<TreeHeadSigner> {
  return TreeHeadSigner.open({
    dir: deploymentSigningDir(config),
    createIfMissing,
    ...(config.slice(auditConfig).signingCertFile && config.slice(auditConfig).signingKeyFile
      ? {
          certificateFile: config.slice(auditConfig).signingCertFile,
          privateKeyFile: config.slice(auditConfig).signingKeyFile,
        }
      : {}),
  });
}

export function deploymentSigningDir(config: Pick<LedgerlineConfig, 'storage'>): string {
  return join(config.storage.dataDir, AUDIT_SIGNING_DIR);
}
