import { hostname } from 'node:os';
import { ConfigError } from '../errors';
import { z } from 'zod';
import type { ConfigProblem, ConfigSlice, CoreSettings } from './config-slice';
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
  /** This process, as access records and presence name it. */
  readonly node: { readonly id: string };
  /** The operator listener for GET /metrics (apps/server). */
  readonly metrics: {
    readonly enabled: boolean;
    readonly host: string;
    /** 0: a free port chosen at start. */
    readonly port: number;
  };
  /**
   * A lib's settings, read from the same environment by its ConfigSlice: loaded with the process's
   * configuration when the app composed the lib (so its problems are reported at start, with
   * everyone else's), on first use otherwise.
   */
  slice<T>(slice: ConfigSlice<T>): T;
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
export function loadConfig(
  source: Readonly<Record<string, string | undefined>>,
  libs: readonly { readonly config?: ConfigSlice<unknown> }[] = [],
): LedgerlineConfig {
  // Empty strings mean "unset", the way shells and compose files write them.
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v !== ''),
  );
  const slices = libs.flatMap((lib) => (lib.config ? [lib.config] : []));
  const schema = slices.reduce<z.ZodObject<z.ZodRawShape>>(
    (all, slice) => all.extend(slice.variables),
    envSchema,
  );
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) throw configErrorOf(parsed.error);
  const e = parsed.data as Env;
  const problems: ConfigProblem[] = [];
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
  const core: CoreSettings = {
    env: e.NODE_ENV,
    httpPort: e.LEDGERLINE_PORT,
    dataDir: e.LEDGERLINE_DATA_DIR,
  };
  const loaded = new Map<ConfigSlice<unknown>, unknown>();
  for (const slice of slices) loaded.set(slice, slice.read(parsed.data, core, problems));
  if (problems.length > 0) throw new ConfigError(problems);
  const slice = <T>(wanted: ConfigSlice<T>): T => {
    if (!loaded.has(wanted)) loaded.set(wanted, readSlice(wanted, cleaned, core));
    return loaded.get(wanted) as T;
  };

  return {
    slice,
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
    node: { id: e.LEDGERLINE_NODE_ID ?? defaultNodeId() },
    metrics: {
      enabled: e.LEDGERLINE_METRICS_ENABLED,
      host: e.LEDGERLINE_METRICS_HOST,
      port: e.LEDGERLINE_METRICS_PORT,
    },
  };
}

/** A slice the app did not load with the rest: read on first use, refused the same way. */
function readSlice<T>(
  slice: ConfigSlice<T>,
  cleaned: Readonly<Record<string, unknown>>,
  core: CoreSettings,
): T {
  const parsed = z.object(slice.variables).safeParse(cleaned);
  if (!parsed.success) throw configErrorOf(parsed.error);
  const problems: ConfigProblem[] = [];
  const value = slice.read(parsed.data, core, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return value;
}

function configErrorOf(error: z.ZodError): ConfigError {
  return new ConfigError(
    error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(environment)'),
      problem: issue.message,
    })),
  );
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
  problems: ConfigProblem[],
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
  problems: ConfigProblem[],
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
