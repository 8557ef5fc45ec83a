import { z } from 'zod';
import { configVar } from './config-slice';

// The environment variables of the process itself (its listener, storage, event store limits,
// keys, node id, metrics). Each lib's own variables are in its ConfigSlice (docs/adr/0027). Each
// key is the variable's name, so a validation problem names exactly the variable to fix.

const { int, bool, url } = configVar;

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  LEDGERLINE_HOST: z.string().min(1).default('127.0.0.1'),
  LEDGERLINE_PORT: int(0, 65535).default(3000),
  LEDGERLINE_SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Browser origins (`scheme://host[:port]`, comma-separated) allowed to open a WebSocket (graphql-ws, /v1/realtime). Unset: any. */
  LEDGERLINE_ALLOWED_ORIGINS: z.string().optional(),

  /** The realtime protocol (/v1/realtime): largest frame a client may send, in bytes (larger: close 1009). */
  LEDGERLINE_REALTIME_MAX_FRAME_BYTES: int(1_024, 16 * 1024 * 1024).default(64 * 1024),
  /** Server ping interval; a connection that has not answered by the next ping is dropped. */
  LEDGERLINE_REALTIME_HEARTBEAT_MS: int(100, 600_000).default(15_000),
  /** Automatic logoff: a connection whose client sent no request for this long is closed (4408). */
  LEDGERLINE_REALTIME_IDLE_TIMEOUT_MS: int(100, 86_400_000).default(900_000),
  /** Bytes a connection may have waiting to go out; past it the client is a slow consumer (4429). */
  LEDGERLINE_REALTIME_SEND_BUFFER_BYTES: int(128 * 1024, 256 * 1024 * 1024).default(1024 * 1024),
  /** Requests per second one connection may send (beyond: `rate_limited`). */
  LEDGERLINE_REALTIME_RATE_PER_CONNECTION: int(1, 100_000).default(50),
  /** Requests per second one user may send over all their connections to this process. */
  LEDGERLINE_REALTIME_RATE_PER_USER: int(1, 100_000).default(100),
  /** Refused (`rate_limited`) requests within 10 s after which the connection is closed (1008). */
  LEDGERLINE_REALTIME_ABUSE_LIMIT: int(1, 100_000).default(20),

  /** Where the embedded defaults keep their files (PGlite, key ring, blobs). */
  LEDGERLINE_DATA_DIR: z.string().min(1).default('./data'),
  /** PostgreSQL for read models, checkpoints and keys (and events unless EVENTSTORE_URL is set). Unset: PGlite in the data directory. */
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5_000),
  /** EventStoreDB connection string; when set, events live there instead of PostgreSQL. */
  EVENTSTORE_URL: url(['esdb', 'esdb+discover']).optional(),

  LEDGERLINE_EVENT_MAX_BYTES: int(1, 16 * 1024 * 1024).default(1024 * 1024),
  LEDGERLINE_METADATA_MAX_BYTES: int(64, 1024 * 1024).default(16 * 1024),
  LEDGERLINE_APPEND_MAX_EVENTS: int(1, 10_000).default(500),
  LEDGERLINE_APPEND_MAX_BYTES: int(1, 256 * 1024 * 1024).default(8 * 1024 * 1024),
  /** Safety-net poll of subscriptions, on top of database notifications. */
  LEDGERLINE_SUBSCRIPTION_POLL_MS: int(10, 60_000).default(1_000),

  /** `local` (a key ring file) or `aws-kms`. */
  LEDGERLINE_KEY_PROVIDER: z.enum(['local', 'aws-kms']).default('local'),
  /** Master secret of the local key ring: 32 bytes, base64. Or give a file with LEDGERLINE_MASTER_KEY_FILE. */
  LEDGERLINE_MASTER_KEY: z.string().min(1).optional(),
  LEDGERLINE_MASTER_KEY_FILE: z.string().min(1).optional(),
  LEDGERLINE_KEYRING_FILE: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  /** Overrides the KMS endpoint (a VPC endpoint, or a local test endpoint). */
  LEDGERLINE_KMS_ENDPOINT: url(['http', 'https']).optional(),
  /** Per-tenant KMS key ids or aliases: `tenantA=alias/a,tenantB=arn:aws:kms:…`. */
  LEDGERLINE_KMS_KEYS: z.string().optional(),
  /** KMS key for tenants not listed in LEDGERLINE_KMS_KEYS. */
  LEDGERLINE_KMS_DEFAULT_KEY: z.string().min(1).optional(),
  LEDGERLINE_KMS_MAX_ATTEMPTS: int(1, 10).default(4),

  /** Unwrapped data keys kept in memory: how many, how long, how many uses each. */
  LEDGERLINE_DEK_CACHE_MAX_KEYS: int(1, 1_000_000).default(20_000),
  LEDGERLINE_DEK_CACHE_MAX_AGE_MS: int(1_000, 86_400_000).default(300_000),
  LEDGERLINE_DEK_CACHE_MAX_USES: int(1, 1_000_000_000).default(1_000_000),
  /** Events sealed with one data key before a new one is generated (random 96-bit nonces: keep far below 2^32). */
  LEDGERLINE_DEK_MAX_EVENTS: int(1, 1_000_000_000).default(1_000_000),

  LEDGERLINE_DEV_MODE_WARNINGS: bool.default(true),

  /** This process in access records and presence (default: host name and process id). */
  LEDGERLINE_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
    .optional(),
  /** The operator listener serving GET /metrics (Prometheus), apart from the public port. */
  LEDGERLINE_METRICS_ENABLED: bool.default(true),
  /** Its address: loopback by default; a private interface only the scraper reaches otherwise. */
  LEDGERLINE_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Its port; 0: a free port, chosen at start (the start-up log names it). */
  LEDGERLINE_METRICS_PORT: int(0, 65535).default(9464),
});

export type Env = z.infer<typeof envSchema>;
