import { z } from 'zod';
import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int, bool } = configVar;

/** libs/files's settings: uploads, blob storage, scanning, retention. */
export interface FilesSettings {
  /** `local`: a directory (`directory`, default `<dataDir>/files`); `s3`: an S3-compatible bucket. */
  readonly store: 'local' | 's3';
  readonly directory: string;
  readonly s3?: {
    readonly bucket: string;
    readonly endpoint?: string;
    readonly region: string;
    readonly keyPrefix: string;
    readonly forcePathStyle: boolean;
  };
  readonly maxFileBytes: number;
  readonly maxTenantBytes: number;
  readonly typesFile: string;
  /** clamd's address (`tcp://host:port` or a unix socket path); unset: no scanning. */
  readonly clamd?: string;
  readonly thumbnails: boolean;
  /** Uploads left unfinished this long are dropped. */
  readonly uploadExpiryHours: number;
}

/** LEDGERLINE_FILES_*: libs/files's configuration slice (docs/adr/0027). */
export const filesConfig = defineConfigSlice(
  'files',
  {
    /** Where file bodies (ciphertext only) are stored: `local` (a directory) or `s3`. */
    LEDGERLINE_FILES_STORE: z.enum(['local', 's3']).default('local'),
    /** The local store's directory (default `<LEDGERLINE_DATA_DIR>/files`). */
    LEDGERLINE_FILES_DIR: z.string().min(1).optional(),
    LEDGERLINE_FILES_S3_BUCKET: z.string().min(3).max(63).optional(),
    /** An S3-compatible endpoint (MinIO, Ceph…); unset: AWS. Credentials come from the AWS chain. */
    LEDGERLINE_FILES_S3_ENDPOINT: z.string().url().optional(),
    LEDGERLINE_FILES_S3_REGION: z.string().min(1).default('us-east-1'),
    LEDGERLINE_FILES_S3_PREFIX: z
      .string()
      .regex(/^([a-z0-9][a-z0-9.-]*\/)*$/)
      .default(''),
    LEDGERLINE_FILES_S3_PATH_STYLE: bool.default(true),
    /** Largest file, in bytes (refused at upload creation, before any byte is stored). */
    LEDGERLINE_FILES_MAX_FILE_BYTES: int(1, 2 ** 40).default(2 * 1024 ** 3),
    /** Stored bytes one tenant may hold (files, thumbnails and uploads under way). */
    LEDGERLINE_FILES_MAX_TENANT_BYTES: int(1, 2 ** 50).default(100 * 1024 ** 3),
    /** The allowed file types (see policies/files.yaml). */
    LEDGERLINE_FILES_TYPES_FILE: z.string().min(1).default('policies/files.yaml'),
    /** clamd to scan every file with before it is available: `tcp://host:3310` or a socket path. */
    LEDGERLINE_FILES_CLAMD: z.string().min(1).optional(),
    LEDGERLINE_FILES_THUMBNAILS: bool.default(true),
    LEDGERLINE_FILES_UPLOAD_EXPIRY_HOURS: int(1, 24 * 30).default(24),
  },
  (e, core, problems): FilesSettings => {
    if (e.LEDGERLINE_FILES_STORE === 's3' && !e.LEDGERLINE_FILES_S3_BUCKET) {
      problems.push({
        variable: 'LEDGERLINE_FILES_S3_BUCKET',
        problem: 'required when LEDGERLINE_FILES_STORE=s3',
      });
    }
    return {
      store: e.LEDGERLINE_FILES_STORE,
      directory: e.LEDGERLINE_FILES_DIR ?? `${core.dataDir}/files`,
      ...(e.LEDGERLINE_FILES_S3_BUCKET
        ? {
            s3: {
              bucket: e.LEDGERLINE_FILES_S3_BUCKET,
              endpoint: e.LEDGERLINE_FILES_S3_ENDPOINT,
              region: e.LEDGERLINE_FILES_S3_REGION,
              keyPrefix: e.LEDGERLINE_FILES_S3_PREFIX,
              forcePathStyle: e.LEDGERLINE_FILES_S3_PATH_STYLE,
            },
          }
        : {}),
      maxFileBytes: e.LEDGERLINE_FILES_MAX_FILE_BYTES,
      maxTenantBytes: e.LEDGERLINE_FILES_MAX_TENANT_BYTES,
      typesFile: e.LEDGERLINE_FILES_TYPES_FILE,
      clamd: e.LEDGERLINE_FILES_CLAMD,
      thumbnails: e.LEDGERLINE_FILES_THUMBNAILS,
      uploadExpiryHours: e.LEDGERLINE_FILES_UPLOAD_EXPIRY_HOURS,
    };
  },
);
