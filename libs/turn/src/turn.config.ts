import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int, bool, url, list } = configVar;

/** libs/turn's settings: credentials, the built-in relay, coturn's statistics. */
export interface TurnSettings {
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
}

/** LEDGERLINE_TURN_*: libs/turn's configuration slice (docs/adr/0027). */
export const turnConfig = defineConfigSlice(
  'turn',
  {
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
  },
  (e, core, problems): TurnSettings => {
    const secrets = list(e.LEDGERLINE_TURN_SECRETS);
    if (secrets.some((secret) => secret.length < 16)) {
      problems.push({
        variable: 'LEDGERLINE_TURN_SECRETS',
        problem: 'each shared secret must be at least 16 characters',
      });
    }
    const allowlist = list(e.LEDGERLINE_TURN_PEER_ALLOWLIST);
    if (allowlist.some((cidr) => !isCidr(cidr))) {
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
    const port = e.LEDGERLINE_TURN_PORT ?? (core.httpPort === 0 ? 0 : 3478);
    return {
      enabled: e.LEDGERLINE_TURN_ENABLED,
      host: e.LEDGERLINE_TURN_HOST,
      port,
      tcp: e.LEDGERLINE_TURN_TCP,
      externalAddress: e.LEDGERLINE_TURN_EXTERNAL_ADDRESS,
      publicHost:
        e.LEDGERLINE_TURN_PUBLIC_HOST ??
        e.LEDGERLINE_TURN_EXTERNAL_ADDRESS ??
        e.LEDGERLINE_TURN_HOST,
      publicPort: e.LEDGERLINE_TURN_PUBLIC_PORT ?? port,
      tlsPort: e.LEDGERLINE_TURN_TLS_PORT,
      realm: e.LEDGERLINE_TURN_REALM,
      // Development without secrets: one per process, so the built-in relay and the credentials it
      // is handed agree (coturn needs the configured ones).
      // In production without secrets TURN is off: no relay, and `iceServers` says it is unavailable.
      secrets:
        secrets.length > 0 || core.env === 'production'
          ? secrets
          : [randomBytes(24).toString('base64url')],
      credentialTtlMinutes: e.LEDGERLINE_TURN_CREDENTIAL_TTL_MINUTES,
      peerAllowlist: allowlist,
      maxAllocationsPerUser: e.LEDGERLINE_TURN_MAX_ALLOCATIONS_PER_USER,
      maxAllocations: e.LEDGERLINE_TURN_MAX_ALLOCATIONS,
      maxBandwidthBytesPerSecond: e.LEDGERLINE_TURN_MAX_BANDWIDTH_BYTES,
      maxLifetimeSeconds: e.LEDGERLINE_TURN_MAX_LIFETIME_SEC,
      coturnStatsDbUrl: e.LEDGERLINE_TURN_COTURN_STATSDB_URL,
    };
  },
);

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
