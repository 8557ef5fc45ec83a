import { z } from 'zod';
import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int, list } = configVar;

export interface AuditSettings {
  readonly failOpenTenants: ReadonlySet<string>;
  readonly batchMax: number;
  /** 0: the scheduled checkpoint is off. */
  readonly checkpointIntervalMs: number;
  readonly signingCertFile?: string;
  readonly signingKeyFile?: string;
}

/** LEDGERLINE_AUDIT_*: libs/audit's configuration slice (docs/adr/0027). */
export const auditConfig = defineConfigSlice(
  'audit',
  {
    /** Tenants whose reads are answered even when their access event cannot be recorded (default: none). */
    LEDGERLINE_AUDIT_FAIL_OPEN_TENANTS: z.string().optional(),
    /** Access events appended together at most. */
    LEDGERLINE_AUDIT_BATCH_MAX: int(1, 500).default(256),
    /** How often the signed Merkle checkpoint runs; 0 turns the scheduled job off. */
    LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: int(0, 86_400_000).default(60_000),
    /** The deployment's tree-head signing certificate and key (PEM). Unset: generated under the data directory. */
    LEDGERLINE_AUDIT_SIGNING_CERT_FILE: z.string().min(1).optional(),
    LEDGERLINE_AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  },
  (e, _core, problems): AuditSettings => {
    if (!e.LEDGERLINE_AUDIT_SIGNING_CERT_FILE !== !e.LEDGERLINE_AUDIT_SIGNING_KEY_FILE) {
      problems.push({
        variable: e.LEDGERLINE_AUDIT_SIGNING_CERT_FILE
          ? 'LEDGERLINE_AUDIT_SIGNING_KEY_FILE'
          : 'LEDGERLINE_AUDIT_SIGNING_CERT_FILE',
        problem:
          'set both LEDGERLINE_AUDIT_SIGNING_CERT_FILE and LEDGERLINE_AUDIT_SIGNING_KEY_FILE, or neither',
      });
    }
    return {
      failOpenTenants: new Set(list(e.LEDGERLINE_AUDIT_FAIL_OPEN_TENANTS)),
      batchMax: e.LEDGERLINE_AUDIT_BATCH_MAX,
      checkpointIntervalMs: e.LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS,
      signingCertFile: e.LEDGERLINE_AUDIT_SIGNING_CERT_FILE,
      signingKeyFile: e.LEDGERLINE_AUDIT_SIGNING_KEY_FILE,
    };
  },
);
