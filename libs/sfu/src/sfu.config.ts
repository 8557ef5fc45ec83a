import { z } from 'zod';
import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int } = configVar;

/** libs/sfu's settings: which engine group calls use, and mediasoup's. */
export interface SfuSettings {
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
}

/** LEDGERLINE_SFU_*, MEDIASOUP_WORKER_BIN: libs/sfu's configuration slice (docs/adr/0027). */
export const sfuConfig = defineConfigSlice(
  'sfu',
  {
    /**
     * Group calls' SFU: `auto` uses mediasoup when its worker binary is found and passed the DTLS
     * probe of `npm run media:worker`, else none.
     */
    LEDGERLINE_SFU_ENGINE: z.enum(['auto', 'mediasoup', 'none']).default('auto'),
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
  },
);
