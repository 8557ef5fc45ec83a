import { join } from 'node:path';
import type { LedgerlineConfig } from '@ledgerline/kernel';
import { TreeHeadSigner } from './signing-key';

/** Where a generated signing key and certificate live, under the data directory. */
export const AUDIT_SIGNING_DIR = 'audit-signing';

/**
 * The deployment's tree-head signer: the certificate and key given by
 * LEDGERLINE_AUDIT_SIGNING_CERT_FILE / _KEY_FILE, or else the pair generated under the data
 * directory (on first use when `createIfMissing`).
 */
export function openDeploymentSigner(
  config: Pick<LedgerlineConfig, 'storage' | 'audit'>,
  createIfMissing: boolean,
): Promise<TreeHeadSigner> {
  return TreeHeadSigner.open({
    dir: deploymentSigningDir(config),
    createIfMissing,
    ...(config.audit.signingCertFile && config.audit.signingKeyFile
      ? {
          certificateFile: config.audit.signingCertFile,
          privateKeyFile: config.audit.signingKeyFile,
        }
      : {}),
  });
}

export function deploymentSigningDir(config: Pick<LedgerlineConfig, 'storage'>): string {
  return join(config.storage.dataDir, AUDIT_SIGNING_DIR);
}
