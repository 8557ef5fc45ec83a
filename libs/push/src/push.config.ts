import { z } from 'zod';
import { configVar, defineConfigSlice } from '@ledgerline/kernel';

const { int, bool } = configVar;

/** libs/push's settings: devices, the outbox dispatcher, the APNs and FCM providers. */
export interface PushSettings {
  readonly enabled: boolean;
  readonly templatesFile: string;
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly maxAttempts: number;
  readonly pollIntervalMs: number;
  readonly apns:
    | { readonly provider: 'log' }
    | {
        readonly provider: 'apns';
        readonly keyFile: string;
        readonly keyId: string;
        readonly teamId: string;
        readonly address?: { readonly host: string; readonly port: number };
        readonly caFile?: string;
      };
  readonly fcm:
    | { readonly provider: 'log' }
    | {
        readonly provider: 'fcm';
        readonly serviceAccountFile: string;
        readonly address?: { readonly host: string; readonly port: number };
        readonly caFile?: string;
      };
}

/** LEDGERLINE_PUSH_*: libs/push's configuration slice (docs/adr/0027). */
export const pushConfig = defineConfigSlice(
  'push',
  {
    /** Run the push dispatcher (the outbox sender) in this process. */
    LEDGERLINE_PUSH_ENABLED: bool.default(true),
    /** Who sends to APNs devices: Apple (`apns`, needs the key settings) or the log (`log`, development). */
    LEDGERLINE_PUSH_APNS_PROVIDER: z.enum(['apns', 'log']).default('log'),
    /** Who sends to FCM devices: Google (`fcm`, needs the service account) or the log (`log`). */
    LEDGERLINE_PUSH_FCM_PROVIDER: z.enum(['fcm', 'log']).default('log'),
    /** APNs token auth: the .p8 signing key file, its key id and the team id. */
    LEDGERLINE_PUSH_APNS_KEY_FILE: z.string().min(1).optional(),
    LEDGERLINE_PUSH_APNS_KEY_ID: z
      .string()
      .regex(/^[A-Z0-9]{10}$/)
      .optional(),
    LEDGERLINE_PUSH_APNS_TEAM_ID: z
      .string()
      .regex(/^[A-Z0-9]{10}$/)
      .optional(),
    /** Another APNs host (`host:port`), e.g. a stand-in; unset: Apple's production/sandbox hosts. */
    LEDGERLINE_PUSH_APNS_ADDRESS: z
      .string()
      .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/)
      .optional(),
    /** Extra CA certificates (PEM file) trusted for APNs, for a stand-in with its own CA. */
    LEDGERLINE_PUSH_APNS_CA_FILE: z.string().min(1).optional(),
    /** FCM HTTP v1: the Google service account JSON file (project id, client email, private key). */
    LEDGERLINE_PUSH_FCM_SERVICE_ACCOUNT_FILE: z.string().min(1).optional(),
    /** Another endpoint (`host:port`) FCM and Google's token exchange are reached at, e.g. a stand-in. */
    LEDGERLINE_PUSH_FCM_ADDRESS: z
      .string()
      .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/)
      .optional(),
    LEDGERLINE_PUSH_FCM_CA_FILE: z.string().min(1).optional(),
    /** The PHI-free push texts (policies/push-templates.yaml). */
    LEDGERLINE_PUSH_TEMPLATES_FILE: z.string().min(1).default('policies/push-templates.yaml'),
    /** A provider call taking longer is abandoned and retried. */
    LEDGERLINE_PUSH_TIMEOUT_MS: int(100, 120_000).default(10_000),
    /** Outbox rows sent at once per process (bounds memory and provider load). */
    LEDGERLINE_PUSH_BATCH: int(1, 1_000).default(64),
    /** Attempts before a push is given up (exponential back-off from 1 s up to 10 min between). */
    LEDGERLINE_PUSH_MAX_ATTEMPTS: int(1, 50).default(8),
    LEDGERLINE_PUSH_POLL_MS: int(10, 60_000).default(250),
  },
  (e, _core, problems): PushSettings => {
    const hostPort = (v: string | undefined) => {
      if (v === undefined) return undefined;
      const at = v.lastIndexOf(':');
      return { host: v.slice(0, at), port: Number(v.slice(at + 1)) };
    };
    const need = (variable: string, value: string | undefined): string => {
      if (value === undefined)
        problems.push({ variable, problem: 'required for this push provider' });
      return value ?? '';
    };
    const apnsAddress = hostPort(e.LEDGERLINE_PUSH_APNS_ADDRESS);
    const fcmAddress = hostPort(e.LEDGERLINE_PUSH_FCM_ADDRESS);
    const apns: PushSettings['apns'] =
      e.LEDGERLINE_PUSH_APNS_PROVIDER === 'log'
        ? { provider: 'log' }
        : {
            provider: 'apns',
            keyFile: need('LEDGERLINE_PUSH_APNS_KEY_FILE', e.LEDGERLINE_PUSH_APNS_KEY_FILE),
            keyId: need('LEDGERLINE_PUSH_APNS_KEY_ID', e.LEDGERLINE_PUSH_APNS_KEY_ID),
            teamId: need('LEDGERLINE_PUSH_APNS_TEAM_ID', e.LEDGERLINE_PUSH_APNS_TEAM_ID),
            ...(apnsAddress ? { address: apnsAddress } : {}),
            ...(e.LEDGERLINE_PUSH_APNS_CA_FILE ? { caFile: e.LEDGERLINE_PUSH_APNS_CA_FILE } : {}),
          };
    const fcm: PushSettings['fcm'] =
      e.LEDGERLINE_PUSH_FCM_PROVIDER === 'log'
        ? { provider: 'log' }
        : {
            provider: 'fcm',
            serviceAccountFile: need(
              'LEDGERLINE_PUSH_FCM_SERVICE_ACCOUNT_FILE',
              e.LEDGERLINE_PUSH_FCM_SERVICE_ACCOUNT_FILE,
            ),
            ...(fcmAddress ? { address: fcmAddress } : {}),
            ...(e.LEDGERLINE_PUSH_FCM_CA_FILE ? { caFile: e.LEDGERLINE_PUSH_FCM_CA_FILE } : {}),
          };
    return {
      enabled: e.LEDGERLINE_PUSH_ENABLED,
      templatesFile: e.LEDGERLINE_PUSH_TEMPLATES_FILE,
      timeoutMs: e.LEDGERLINE_PUSH_TIMEOUT_MS,
      batchSize: e.LEDGERLINE_PUSH_BATCH,
      maxAttempts: e.LEDGERLINE_PUSH_MAX_ATTEMPTS,
      pollIntervalMs: e.LEDGERLINE_PUSH_POLL_MS,
      apns,
      fcm,
    };
  },
);
