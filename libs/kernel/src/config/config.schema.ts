import { z } from 'zod';

// Every environment variable Ledgerline reads, in one place. Each key is the variable's name, so a
// validation problem names exactly the variable to fix. Nothing reads process.env elsewhere.

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const url = (protocols: readonly string[]) =>
  z
    .string()
    .url()
    .refine((v) => protocols.some((p) => v.startsWith(`${p}:`)), {
      message: `must be a ${protocols.join(' or ')} URL`,
    });

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
  LEDGERLINE_DEK_CACHE_MAX_KEYS: int(1, 1_000_000).default(1_000),
  LEDGERLINE_DEK_CACHE_MAX_AGE_MS: int(1_000, 86_400_000).default(300_000),
  LEDGERLINE_DEK_CACHE_MAX_USES: int(1, 1_000_000_000).default(1_000_000),
  /** Events sealed with one data key before a new one is generated (random 96-bit nonces: keep far below 2^32). */
  LEDGERLINE_DEK_MAX_EVENTS: int(1, 1_000_000_000).default(1_000_000),

  LEDGERLINE_DEV_MODE_WARNINGS: bool.default(true),

  /** The host app's identity provider: the exact `iss`, the `aud` for this deployment, its JWKS. */
  LEDGERLINE_JWT_ISSUER: z.string().min(1).optional(),
  LEDGERLINE_JWT_AUDIENCE: z.string().min(1).optional(),
  LEDGERLINE_JWT_JWKS_URL: url(['http', 'https']).optional(),
  LEDGERLINE_JWT_TENANT_CLAIM: z.string().min(1).default('tenant_id'),
  LEDGERLINE_JWT_ROLES_CLAIM: z.string().min(1).default('roles'),
  LEDGERLINE_JWT_KIND_CLAIM: z.string().min(1).default('principal_kind'),
  LEDGERLINE_JWT_CLOCK_TOLERANCE_SEC: int(0, 300).default(30),
  /** How long fetched keys keep working while the JWKS endpoint is down. */
  LEDGERLINE_JWKS_CACHE_MAX_AGE_MS: int(1_000, 86_400_000).default(600_000),
  LEDGERLINE_JWKS_COOLDOWN_MS: int(0, 3_600_000).default(30_000),
  LEDGERLINE_JWKS_TIMEOUT_MS: int(100, 60_000).default(5_000),
  /**
   * Development only: a local token issuer trusted instead of the identity provider. Default: on in
   * development when no LEDGERLINE_JWT_ISSUER is set, off otherwise.
   */
  LEDGERLINE_DEV_TOKENS: bool.optional(),
  LEDGERLINE_DEV_TOKENS_PORT: int(0, 65535).default(0),
  LEDGERLINE_ROLES_FILE: z.string().min(1).default('policies/roles.yaml'),

  /** This process in access records and presence (default: host name and process id). */
  LEDGERLINE_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
    .optional(),
  /** Tenants whose reads are answered even when their access event cannot be recorded (default: none). */
  LEDGERLINE_AUDIT_FAIL_OPEN_TENANTS: z.string().optional(),
  /** Access events appended together at most. */
  LEDGERLINE_AUDIT_BATCH_MAX: int(1, 500).default(256),
  /** How often the signed Merkle checkpoint runs; 0 turns the scheduled job off. */
  LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: int(0, 86_400_000).default(60_000),
  /** The deployment's tree-head signing certificate and key (PEM). Unset: generated under the data directory. */
  LEDGERLINE_AUDIT_SIGNING_CERT_FILE: z.string().min(1).optional(),
  LEDGERLINE_AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),

  /** Presence: how long a user with no connection on any node keeps their status before going offline. */
  LEDGERLINE_PRESENCE_GRACE_MS: int(0, 3_600_000).default(30_000),
  /** Presence: a node renews its connections within this time, or they expire (a node that died). */
  LEDGERLINE_PRESENCE_LEASE_MS: int(300, 3_600_000).default(60_000),
  /** How long a typing indicator lasts unless it is sent again. */
  LEDGERLINE_TYPING_TTL_MS: int(500, 60_000).default(5_000),
  /** Typing signals one user may send per conversation per window (each node counts its own). */
  LEDGERLINE_TYPING_RATE_LIMIT: int(1, 1_000).default(5),
  LEDGERLINE_TYPING_RATE_WINDOW_MS: int(100, 3_600_000).default(5_000),

  /** The operator listener serving GET /metrics (Prometheus), apart from the public port. */
  LEDGERLINE_METRICS_ENABLED: bool.default(true),
  /** Its address: loopback by default; a private interface only the scraper reaches otherwise. */
  LEDGERLINE_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Its port; 0: a free port, chosen at start (the start-up log names it). */
  LEDGERLINE_METRICS_PORT: int(0, 65535).default(9464),
  /** The built-in TURN relay (libs/turn): on by default in the all-in-one server. */
  LEDGERLINE_TURN_ENABLED: bool.default(true),
  /** Address the built-in relay listens on and relays from (a concrete address, or set LEDGERLINE_TURN_EXTERNAL_ADDRESS). */
  LEDGERLINE_TURN_HOST: z.string().min(1).default('127.0.0.1'),
  /** UDP (and TCP) port of the built-in relay. Default 3478, or 0 (a free port) when LEDGERLINE_PORT=0, as in tests. */
  LEDGERLINE_TURN_PORT: int(0, 65535).optional(),
  LEDGERLINE_TURN_TCP: bool.default(true),
  /** The relayed address handed to clients when the relay is behind 1:1 NAT. */
  LEDGERLINE_TURN_EXTERNAL_ADDRESS: z.string().min(1).optional(),
  /** Host name clients reach TURN at, in `iceServers` (default: the external address or the listening host). */
  LEDGERLINE_TURN_PUBLIC_HOST: z.string().min(1).optional(),
  /** Advertised TURN port, when it differs from LEDGERLINE_TURN_PORT (coturn on 3478 behind a proxy). */
  LEDGERLINE_TURN_PUBLIC_PORT: int(1, 65535).optional(),
  /** TURNS (TLS) port advertised in `iceServers` (coturn: 443 or 5349). Unset: no TURNS URL. */
  LEDGERLINE_TURN_TLS_PORT: int(1, 65535).optional(),
  LEDGERLINE_TURN_REALM: z.string().min(1).max(128).default('ledgerline'),
  /** Shared secrets, comma-separated: the first mints credentials, all are accepted (rotation). Same values as coturn's static-auth-secret. */
  LEDGERLINE_TURN_SECRETS: z.string().optional(),
  /** How long a minted TURN credential is valid, in minutes. */
  LEDGERLINE_TURN_CREDENTIAL_TTL_MINUTES: int(1, 1_440).default(30),
  /** CIDR ranges the peer policy lets through although they are private (on-premise peers). */
  LEDGERLINE_TURN_PEER_ALLOWLIST: z.string().optional(),
  LEDGERLINE_TURN_MAX_ALLOCATIONS_PER_USER: int(1, 1_000).default(10),
  LEDGERLINE_TURN_MAX_ALLOCATIONS: int(1, 1_000_000).default(1_000),
  /** Bytes per second one allocation may relay (both ways together); 0: unlimited. */
  LEDGERLINE_TURN_MAX_BANDWIDTH_BYTES: int(0, 1_000_000_000).default(2_000_000),
  LEDGERLINE_TURN_MAX_LIFETIME_SEC: int(600, 86_400).default(3_600),
  /** coturn's Redis statistics database (`redis://host:port/db`): its allocations become audit events. */
  LEDGERLINE_TURN_COTURN_STATSDB_URL: url(['redis']).optional(),
  // libs/files
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
});

export type Env = z.infer<typeof envSchema>;
