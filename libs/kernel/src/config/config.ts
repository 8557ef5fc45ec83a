import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { ConfigError } from '../errors';
import { envSchema, type Env } from './config.schema';

/** The typed configuration every process reads once, at start-up. */
export interface LedgerlineConfig {
  readonly env: Env['NODE_ENV'];
  readonly log: { readonly level: Env['LOG_LEVEL'] };
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly shutdownTimeoutMs: number;
    /** Browser origins allowed to open a WebSocket; undefined: any. */
    readonly allowedOrigins?: readonly string[];
  };
  /** Read by libs/realtime (its `RealtimeSettings`). */
  readonly realtime: {
    readonly maxFrameBytes: number;
    readonly heartbeatMs: number;
    readonly idleTimeoutMs: number;
    readonly sendBufferBytes: number;
    readonly ratePerConnection: number;
    readonly ratePerUser: number;
    readonly abuseLimit: number;
  };
  readonly storage: {
    readonly dataDir: string;
    readonly databaseUrl?: string;
    readonly poolSize: number;
    readonly connectTimeoutMs: number;
    readonly eventStoreUrl?: string;
  };
  readonly eventStore: EventStoreLimits & { readonly pollIntervalMs: number };
  readonly keys: {
    readonly provider: Env['LEDGERLINE_KEY_PROVIDER'];
    readonly masterKey?: string;
    readonly masterKeyFile?: string;
    readonly keyringFile: string;
    readonly aws: {
      readonly region?: string;
      readonly endpoint?: string;
      readonly tenantKeys: ReadonlyMap<string, string>;
      readonly defaultKey?: string;
      readonly maxAttempts: number;
    };
    readonly cache: {
      readonly maxKeys: number;
      readonly maxAgeMs: number;
      readonly maxUses: number;
    };
    readonly maxEventsPerDataKey: number;
  };
  /** Read by libs/identity (its `IdentitySettings`). */
  readonly identity: {
    readonly jwt: {
      readonly issuer?: string;
      readonly audience?: string;
      readonly jwksUrl?: string;
      readonly tenantClaim: string;
      readonly rolesClaim: string;
      readonly kindClaim: string;
      readonly clockToleranceSec: number;
      readonly jwksCacheMaxAgeMs: number;
      readonly jwksCooldownMs: number;
      readonly jwksTimeoutMs: number;
    };
    readonly devTokens: boolean;
    readonly devTokensPort: number;
    readonly rolesFile: string;
  };
  /** This process, as access records and presence name it. */
  readonly node: { readonly id: string };
  /** Read by libs/audit. */
  readonly audit: {
    readonly failOpenTenants: ReadonlySet<string>;
    readonly batchMax: number;
    /** 0: the scheduled checkpoint is off. */
    readonly checkpointIntervalMs: number;
    readonly signingCertFile?: string;
    readonly signingKeyFile?: string;
  };
  /** Read by libs/presence. */
  readonly presence: {
    /** No connection on any node for this long: the user goes offline. */
    readonly graceMs: number;
    /** A node's connections expire unless renewed within this time. */
    readonly connectionLeaseMs: number;
    readonly typingTtlMs: number;
    readonly typingRateLimit: { readonly points: number; readonly windowMs: number };
  };
  /** The operator listener for GET /metrics (apps/server). */
  readonly metrics: {
    readonly enabled: boolean;
    readonly host: string;
    /** 0: a free port chosen at start. */
    readonly port: number;
  };
  /** Read by libs/turn (credentials, the built-in relay, coturn's statistics). */
  readonly turn: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    readonly tcp: boolean;
    readonly externalAddress?: string;
    readonly publicHost: string;
    readonly publicPort: number;
    readonly tlsPort?: number;
    readonly realm: string;
    /**
     * The first mints; all are accepted. Generated per process outside production when unset;
     * empty in production when unset (TURN is then off).
     */
    readonly secrets: readonly string[];
    readonly credentialTtlMinutes: number;
    readonly peerAllowlist: readonly string[];
    readonly maxAllocationsPerUser: number;
    readonly maxAllocations: number;
    readonly maxBandwidthBytesPerSecond: number;
    readonly maxLifetimeSeconds: number;
    readonly coturnStatsDbUrl?: string;
  };
  // libs/sfu
  /** Read by libs/sfu: which engine group calls use, and mediasoup's settings. */
  readonly sfu: {
    readonly engine: 'auto' | 'mediasoup' | 'none';
    readonly mediasoup: {
      readonly workerBin?: string;
      readonly workers?: number;
      readonly listenIp: string;
      readonly announcedAddress?: string;
      readonly minPort: number;
      readonly maxPort: number;
      readonly connectTimeoutMs: number;
    };
  };
}

export interface EventStoreLimits {
  readonly maxEventBytes: number;
  readonly maxMetadataBytes: number;
  readonly maxBatchEvents: number;
  readonly maxBatchBytes: number;
}

export const DEFAULT_EVENT_STORE_LIMITS: EventStoreLimits = {
  maxEventBytes: 1024 * 1024,
  maxMetadataBytes: 16 * 1024,
  maxBatchEvents: 500,
  maxBatchBytes: 8 * 1024 * 1024,
};

/**
 * Reads and validates configuration from an environment map (normally `process.env`). Throws one
 * ConfigError listing every bad variable by name; values are never echoed, since some are secrets.
 */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): LedgerlineConfig {
  // Empty strings mean "unset", the way shells and compose files write them.
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        problem: issue.message,
      })),
    );
  }
  const e = parsed.data;
  const problems: { variable: string; problem: string }[] = [];
  const tenantKeys = parseTenantKeys(e.LEDGERLINE_KMS_KEYS, problems);
  const allowedOrigins = parseOrigins(e.LEDGERLINE_ALLOWED_ORIGINS, problems);
  if (e.LEDGERLINE_MASTER_KEY && e.LEDGERLINE_MASTER_KEY_FILE) {
    problems.push({
      variable: 'LEDGERLINE_MASTER_KEY_FILE',
      problem: 'set either LEDGERLINE_MASTER_KEY or LEDGERLINE_MASTER_KEY_FILE, not both',
    });
  }
  if (
    e.LEDGERLINE_KEY_PROVIDER === 'aws-kms' &&
    !e.LEDGERLINE_KMS_DEFAULT_KEY &&
    tenantKeys.size === 0
  ) {
    problems.push({
      variable: 'LEDGERLINE_KMS_DEFAULT_KEY',
      problem: 'required when LEDGERLINE_KEY_PROVIDER=aws-kms and LEDGERLINE_KMS_KEYS is empty',
    });
  }
  if (
    e.NODE_ENV === 'production' &&
    e.LEDGERLINE_KEY_PROVIDER === 'local' &&
    !e.LEDGERLINE_MASTER_KEY &&
    !e.LEDGERLINE_MASTER_KEY_FILE
  ) {
    // A generated master secret next to the ring protects nothing once both are in one backup.
    problems.push({
      variable: 'LEDGERLINE_MASTER_KEY_FILE',
      problem:
        'required in production with the local key ring (or set LEDGERLINE_MASTER_KEY); only development generates one',
    });
  }
  if (e.LEDGERLINE_APPEND_MAX_BYTES < e.LEDGERLINE_EVENT_MAX_BYTES) {
    problems.push({
      variable: 'LEDGERLINE_APPEND_MAX_BYTES',
      problem: 'must be at least LEDGERLINE_EVENT_MAX_BYTES',
    });
  }
  if (e.NODE_ENV === 'production' && e.LEDGERLINE_DEV_TOKENS) {
    problems.push({
      variable: 'LEDGERLINE_DEV_TOKENS',
      problem: 'development tokens are refused when NODE_ENV=production',
    });
  }
  if (!e.LEDGERLINE_AUDIT_SIGNING_CERT_FILE !== !e.LEDGERLINE_AUDIT_SIGNING_KEY_FILE) {
    problems.push({
      variable: e.LEDGERLINE_AUDIT_SIGNING_CERT_FILE
        ? 'LEDGERLINE_AUDIT_SIGNING_KEY_FILE'
        : 'LEDGERLINE_AUDIT_SIGNING_CERT_FILE',
      problem:
        'set both LEDGERLINE_AUDIT_SIGNING_CERT_FILE and LEDGERLINE_AUDIT_SIGNING_KEY_FILE, or neither',
    });
  }
  if (
    e.LEDGERLINE_METRICS_ENABLED &&
    e.LEDGERLINE_METRICS_PORT !== 0 &&
    e.LEDGERLINE_METRICS_PORT === e.LEDGERLINE_PORT
  ) {
    problems.push({
      variable: 'LEDGERLINE_METRICS_PORT',
      problem: 'must differ from LEDGERLINE_PORT: metrics are never served on the public port',
    });
  }
  const turnSecrets = splitList(e.LEDGERLINE_TURN_SECRETS);
  if (turnSecrets.some((secret) => secret.length < 16)) {
    problems.push({
      variable: 'LEDGERLINE_TURN_SECRETS',
      problem: 'each shared secret must be at least 16 characters',
    });
  }
  const turnAllowlist = splitList(e.LEDGERLINE_TURN_PEER_ALLOWLIST);
  if (turnAllowlist.some((cidr) => !isCidr(cidr))) {
    problems.push({
      variable: 'LEDGERLINE_TURN_PEER_ALLOWLIST',
      problem: 'expected comma-separated CIDR ranges like 10.20.0.0/16 or fd00:1::/48',
    });
  }
  if (isUnspecified(e.LEDGERLINE_TURN_HOST) && !e.LEDGERLINE_TURN_EXTERNAL_ADDRESS) {
    problems.push({
      variable: 'LEDGERLINE_TURN_EXTERNAL_ADDRESS',
      problem: 'required when LEDGERLINE_TURN_HOST listens on every interface',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const turnPort = e.LEDGERLINE_TURN_PORT ?? (e.LEDGERLINE_PORT === 0 ? 0 : 3478);

  return {
    env: e.NODE_ENV,
    log: { level: e.LOG_LEVEL },
    http: {
      host: e.LEDGERLINE_HOST,
      port: e.LEDGERLINE_PORT,
      shutdownTimeoutMs: e.LEDGERLINE_SHUTDOWN_TIMEOUT_MS,
      allowedOrigins,
    },
    realtime: {
      maxFrameBytes: e.LEDGERLINE_REALTIME_MAX_FRAME_BYTES,
      heartbeatMs: e.LEDGERLINE_REALTIME_HEARTBEAT_MS,
      idleTimeoutMs: e.LEDGERLINE_REALTIME_IDLE_TIMEOUT_MS,
      sendBufferBytes: e.LEDGERLINE_REALTIME_SEND_BUFFER_BYTES,
      ratePerConnection: e.LEDGERLINE_REALTIME_RATE_PER_CONNECTION,
      ratePerUser: e.LEDGERLINE_REALTIME_RATE_PER_USER,
      abuseLimit: e.LEDGERLINE_REALTIME_ABUSE_LIMIT,
    },
    storage: {
      dataDir: e.LEDGERLINE_DATA_DIR,
      databaseUrl: e.DATABASE_URL,
      poolSize: e.DATABASE_POOL_SIZE,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      eventStoreUrl: e.EVENTSTORE_URL,
    },
    eventStore: {
      maxEventBytes: e.LEDGERLINE_EVENT_MAX_BYTES,
      maxMetadataBytes: e.LEDGERLINE_METADATA_MAX_BYTES,
      maxBatchEvents: e.LEDGERLINE_APPEND_MAX_EVENTS,
      maxBatchBytes: e.LEDGERLINE_APPEND_MAX_BYTES,
      pollIntervalMs: e.LEDGERLINE_SUBSCRIPTION_POLL_MS,
    },
    keys: {
      provider: e.LEDGERLINE_KEY_PROVIDER,
      masterKey: e.LEDGERLINE_MASTER_KEY,
      masterKeyFile: e.LEDGERLINE_MASTER_KEY_FILE,
      keyringFile: e.LEDGERLINE_KEYRING_FILE ?? `${e.LEDGERLINE_DATA_DIR}/keyring.json`,
      aws: {
        region: e.AWS_REGION,
        endpoint: e.LEDGERLINE_KMS_ENDPOINT,
        tenantKeys,
        defaultKey: e.LEDGERLINE_KMS_DEFAULT_KEY,
        maxAttempts: e.LEDGERLINE_KMS_MAX_ATTEMPTS,
      },
      cache: {
        maxKeys: e.LEDGERLINE_DEK_CACHE_MAX_KEYS,
        maxAgeMs: e.LEDGERLINE_DEK_CACHE_MAX_AGE_MS,
        maxUses: e.LEDGERLINE_DEK_CACHE_MAX_USES,
      },
      maxEventsPerDataKey: e.LEDGERLINE_DEK_MAX_EVENTS,
    },
    identity: {
      jwt: {
        issuer: e.LEDGERLINE_JWT_ISSUER,
        audience: e.LEDGERLINE_JWT_AUDIENCE,
        jwksUrl: e.LEDGERLINE_JWT_JWKS_URL,
        tenantClaim: e.LEDGERLINE_JWT_TENANT_CLAIM,
        rolesClaim: e.LEDGERLINE_JWT_ROLES_CLAIM,
        kindClaim: e.LEDGERLINE_JWT_KIND_CLAIM,
        clockToleranceSec: e.LEDGERLINE_JWT_CLOCK_TOLERANCE_SEC,
        jwksCacheMaxAgeMs: e.LEDGERLINE_JWKS_CACHE_MAX_AGE_MS,
        jwksCooldownMs: e.LEDGERLINE_JWKS_COOLDOWN_MS,
        jwksTimeoutMs: e.LEDGERLINE_JWKS_TIMEOUT_MS,
      },
      devTokens:
        e.LEDGERLINE_DEV_TOKENS ?? (e.NODE_ENV === 'development' && !e.LEDGERLINE_JWT_ISSUER),
      devTokensPort: e.LEDGERLINE_DEV_TOKENS_PORT,
      rolesFile: e.LEDGERLINE_ROLES_FILE,
    },
    node: { id: e.LEDGERLINE_NODE_ID ?? defaultNodeId() },
    audit: {
      failOpenTenants: new Set(
        (e.LEDGERLINE_AUDIT_FAIL_OPEN_TENANTS ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ),
      batchMax: e.LEDGERLINE_AUDIT_BATCH_MAX,
      checkpointIntervalMs: e.LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS,
      signingCertFile: e.LEDGERLINE_AUDIT_SIGNING_CERT_FILE,
      signingKeyFile: e.LEDGERLINE_AUDIT_SIGNING_KEY_FILE,
    },
    presence: {
      graceMs: e.LEDGERLINE_PRESENCE_GRACE_MS,
      connectionLeaseMs: e.LEDGERLINE_PRESENCE_LEASE_MS,
      typingTtlMs: e.LEDGERLINE_TYPING_TTL_MS,
      typingRateLimit: {
        points: e.LEDGERLINE_TYPING_RATE_LIMIT,
        windowMs: e.LEDGERLINE_TYPING_RATE_WINDOW_MS,
      },
    },
    metrics: {
      enabled: e.LEDGERLINE_METRICS_ENABLED,
      host: e.LEDGERLINE_METRICS_HOST,
      port: e.LEDGERLINE_METRICS_PORT,
    },
    turn: {
      enabled: e.LEDGERLINE_TURN_ENABLED,
      host: e.LEDGERLINE_TURN_HOST,
      port: turnPort,
      tcp: e.LEDGERLINE_TURN_TCP,
      externalAddress: e.LEDGERLINE_TURN_EXTERNAL_ADDRESS,
      publicHost:
        e.LEDGERLINE_TURN_PUBLIC_HOST ??
        e.LEDGERLINE_TURN_EXTERNAL_ADDRESS ??
        e.LEDGERLINE_TURN_HOST,
      publicPort: e.LEDGERLINE_TURN_PUBLIC_PORT ?? turnPort,
      tlsPort: e.LEDGERLINE_TURN_TLS_PORT,
      realm: e.LEDGERLINE_TURN_REALM,
      // Development without secrets: one per process, so the built-in relay and the credentials it
      // is handed agree (coturn needs the configured ones).
      // In production without secrets TURN is off: no relay, and `iceServers` says it is unavailable.
      secrets:
        turnSecrets.length > 0 || e.NODE_ENV === 'production'
          ? turnSecrets
          : [randomBytes(24).toString('base64url')],
      credentialTtlMinutes: e.LEDGERLINE_TURN_CREDENTIAL_TTL_MINUTES,
      peerAllowlist: turnAllowlist,
      maxAllocationsPerUser: e.LEDGERLINE_TURN_MAX_ALLOCATIONS_PER_USER,
      maxAllocations: e.LEDGERLINE_TURN_MAX_ALLOCATIONS,
      maxBandwidthBytesPerSecond: e.LEDGERLINE_TURN_MAX_BANDWIDTH_BYTES,
      maxLifetimeSeconds: e.LEDGERLINE_TURN_MAX_LIFETIME_SEC,
      coturnStatsDbUrl: e.LEDGERLINE_TURN_COTURN_STATSDB_URL,
    },
    // libs/sfu
    sfu: sfuConfig(e),
  };
}

// libs/sfu
function sfuConfig(e: Env): LedgerlineConfig['sfu'] {
  const problems: { variable: string; problem: string }[] = [];
  if (e.LEDGERLINE_SFU_RTC_MIN_PORT > e.LEDGERLINE_SFU_RTC_MAX_PORT) {
    problems.push({
      variable: 'LEDGERLINE_SFU_RTC_MIN_PORT',
      problem: 'must not exceed LEDGERLINE_SFU_RTC_MAX_PORT',
    });
  }
  if (isUnspecified(e.LEDGERLINE_SFU_LISTEN_IP) && !e.LEDGERLINE_SFU_ANNOUNCED_ADDRESS) {
    problems.push({
      variable: 'LEDGERLINE_SFU_ANNOUNCED_ADDRESS',
      problem: 'required when LEDGERLINE_SFU_LISTEN_IP listens on every interface',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    engine: e.LEDGERLINE_SFU_ENGINE,
    mediasoup: {
      workerBin: e.MEDIASOUP_WORKER_BIN,
      workers: e.LEDGERLINE_SFU_WORKERS,
      listenIp: e.LEDGERLINE_SFU_LISTEN_IP,
      announcedAddress: e.LEDGERLINE_SFU_ANNOUNCED_ADDRESS,
      minPort: e.LEDGERLINE_SFU_RTC_MIN_PORT,
      maxPort: e.LEDGERLINE_SFU_RTC_MAX_PORT,
      connectTimeoutMs: e.LEDGERLINE_SFU_CONNECT_TIMEOUT_MS,
    },
  };
}

function splitList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function isCidr(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  const family = isIP(address ?? '');
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/** `<host>-<pid>`, cut to the node id's 64 characters and its alphabet. */
function defaultNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'node';
  return `${host.slice(0, 50)}-${process.pid}`;
}

/** `https://app.example.com,http://localhost:5173`: each an exact origin, as browsers send it. */
function parseOrigins(
  raw: string | undefined,
  problems: { variable: string; problem: string }[],
): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  const origins = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: string | undefined;
    try {
      parsed = new URL(origin).origin;
    } catch {
      parsed = undefined;
    }
    if (parsed !== origin) {
      problems.push({
        variable: 'LEDGERLINE_ALLOWED_ORIGINS',
        problem: 'expected comma-separated origins like https://app.example.com (no path)',
      });
      return undefined;
    }
  }
  return origins;
}

function parseTenantKeys(
  raw: string | undefined,
  problems: { variable: string; problem: string }[],
): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  if (!raw) return map;
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) {
      problems.push({
        variable: 'LEDGERLINE_KMS_KEYS',
        problem: 'expected comma-separated tenant=keyId pairs',
      });
      return map;
    }
    map.set(entry.slice(0, eq).trim(), entry.slice(eq + 1).trim());
  }
  return map;
}
