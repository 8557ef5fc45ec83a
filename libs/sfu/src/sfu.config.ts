import { z } from 'zod';
import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int, url } = configVar;

/** libs/sfu's settings: which engine group calls use, mediasoup's and Janus's. */
export interface SfuSettings {
  readonly engine: 'auto' | 'mediasoup' | 'janus' | 'none';
  readonly mediasoup: {
    readonly workerBin?: string;
    readonly workers?: number;
    readonly listenIp: string;
    readonly announcedAddress?: string;
    readonly minPort: number;
    readonly maxPort: number;
    readonly connectTimeoutMs: number;
  };
  /** Present when LEDGERLINE_SFU_JANUS_URL is set. */
  readonly janus?: {
    readonly url: string;
    readonly adminUrl?: string;
    readonly adminSecret?: string;
    readonly connectTimeoutMs: number;
  };
}

/**
 * LEDGERLINE_SFU_*, MEDIASOUP_WORKER_BIN: libs/sfu's configuration slice (docs/adr/0027, engines in
 * docs/adr/0025).
 */
export const sfuConfig = defineConfigSlice(
  'sfu',
  {
    /**
     * Group calls' SFU: `auto` uses mediasoup when its worker binary is found and passed the DTLS
     * probe of `npm run media:worker`, else Janus when LEDGERLINE_SFU_JANUS_URL is set, else none.
     */
    LEDGERLINE_SFU_ENGINE: z.enum(['auto', 'mediasoup', 'janus', 'none']).default('auto'),
    /** Janus's WebSocket API (VideoRoom plugin), e.g. ws://janus:8188. */
    LEDGERLINE_SFU_JANUS_URL: url(['ws', 'wss']).optional(),
    /** Janus's Admin API over WebSocket, for per-participant media counters (audit). */
    LEDGERLINE_SFU_JANUS_ADMIN_URL: url(['ws', 'wss']).optional(),
    /** Janus's admin_secret (janus.jcfg), sent with Admin API requests. */
    LEDGERLINE_SFU_JANUS_ADMIN_SECRET: z.string().min(1).max(256).optional(),
    /** mediasoup's worker binary (default: the one `npm run media:worker` cached for this version). */
    MEDIASOUP_WORKER_BIN: z.string().min(1).optional(),
    /** mediasoup workers; default one per core. */
    LEDGERLINE_SFU_WORKERS: int(1, 256).optional(),
    /** Address WebRTC transports listen on. */
    LEDGERLINE_SFU_LISTEN_IP: z.string().min(1).default('127.0.0.1'),
    /** Address put in ICE candidates when clients reach the SFU at another one (NAT, container). */
    LEDGERLINE_SFU_ANNOUNCED_ADDRESS: z.string().min(1).max(253).optional(),
    LEDGERLINE_SFU_RTC_MIN_PORT: int(1024, 65535).default(40_000),
    LEDGERLINE_SFU_RTC_MAX_PORT: int(1024, 65535).default(49_999),
    /** A participant with no transport connected this long after joining is removed. */
    LEDGERLINE_SFU_CONNECT_TIMEOUT_MS: int(1_000, 300_000).default(30_000),
  },
  (e, _core, problems): SfuSettings => {
    if (e.LEDGERLINE_SFU_RTC_MIN_PORT > e.LEDGERLINE_SFU_RTC_MAX_PORT) {
      problems.push({
        variable: 'LEDGERLINE_SFU_RTC_MIN_PORT',
        problem: 'must not exceed LEDGERLINE_SFU_RTC_MAX_PORT',
      });
    }
    const everyInterface = ['0.0.0.0', '::'].includes(e.LEDGERLINE_SFU_LISTEN_IP);
    if (everyInterface && !e.LEDGERLINE_SFU_ANNOUNCED_ADDRESS) {
      problems.push({
        variable: 'LEDGERLINE_SFU_ANNOUNCED_ADDRESS',
        problem: 'required when LEDGERLINE_SFU_LISTEN_IP listens on every interface',
      });
    }
    if (e.LEDGERLINE_SFU_ENGINE === 'janus' && !e.LEDGERLINE_SFU_JANUS_URL) {
      problems.push({
        variable: 'LEDGERLINE_SFU_JANUS_URL',
        problem: 'required when LEDGERLINE_SFU_ENGINE=janus',
      });
    }
    if (e.LEDGERLINE_SFU_JANUS_ADMIN_SECRET && !e.LEDGERLINE_SFU_JANUS_ADMIN_URL) {
      problems.push({
        variable: 'LEDGERLINE_SFU_JANUS_ADMIN_URL',
        problem: 'required when LEDGERLINE_SFU_JANUS_ADMIN_SECRET is set',
      });
    }
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
      ...(e.LEDGERLINE_SFU_JANUS_URL
        ? {
            janus: {
              url: e.LEDGERLINE_SFU_JANUS_URL,
              adminUrl: e.LEDGERLINE_SFU_JANUS_ADMIN_URL,
              adminSecret: e.LEDGERLINE_SFU_JANUS_ADMIN_SECRET,
              connectTimeoutMs: e.LEDGERLINE_SFU_CONNECT_TIMEOUT_MS,
            },
          }
        : {}),
    };
  },
);
