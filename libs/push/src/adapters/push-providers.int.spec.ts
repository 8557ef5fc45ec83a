import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWhenEnv } from '@ledgerline/testing';
import { ApnsStandIn } from '../stand-ins/apns-stand-in';
import { FcmStandIn } from '../stand-ins/fcm-stand-in';
import { createStandInTls, type StandInTls } from '../stand-ins/stand-in-tls';
import { ApnsPushProvider } from './apns-push-provider.adapter';
import { FcmPushProvider } from './fcm-push-provider.adapter';
import { LogPushProvider } from './log-push-provider.adapter';
import { pushProviderContract, type ContractTarget } from './contract/push-provider.contract';

jest.setTimeout(60_000);

// Long enough for a TLS handshake on a busy machine; the `hang` cases wait it out.
const TIMEOUT_MS = 10_000;
const apnsToken = () => randomBytes(32).toString('hex');
const fcmToken = () =>
  `${randomBytes(11).toString('base64url')}:APA91b${randomBytes(100).toString('base64url')}`;

// ---- APNs: @parse/node-apn against a local HTTP/2 stand-in ------------------------------------

let tls: StandInTls | undefined;
const sharedTls = () => (tls ??= createStandInTls());
afterAll(() => tls?.dispose());

{
  let standIn: ApnsStandIn;
  let provider: ApnsPushProvider;
  pushProviderContract(
    'APNs (@parse/node-apn) against an HTTP/2 stand-in',
    true,
    async () => {
      const team = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      standIn = await ApnsStandIn.start({
        tls: sharedTls(),
        teamPublicKey: team.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        keyId: 'ABC123DEFG',
        teamId: 'TEAM123456',
      });
      provider = new ApnsPushProvider({
        key: team.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        keyId: 'ABC123DEFG',
        teamId: 'TEAM123456',
        address: { host: '127.0.0.1', port: standIn.port },
        ca: [sharedTls().ca],
        timeoutMs: TIMEOUT_MS,
      });
      const dead = apnsToken();
      standIn.script(dead, { status: 410, reason: 'Unregistered' });
      const target: ContractTarget = {
        provider,
        platform: 'apns',
        appId: 'org.example.ledgerline',
        environment: 'sandbox',
        liveToken: apnsToken(),
        deadToken: dead,
        bogusToken: 'ab'.repeat(31) + 'zz',
        script: (token, failure) =>
          standIn.script(
            token,
            failure === 'throttled'
              ? { status: 429, reason: 'TooManyRequests' }
              : failure === 'server_error'
                ? { status: 500, reason: 'InternalServerError' }
                : failure === 'bad_request'
                  ? { status: 400, reason: 'BadTopic' }
                  : 'hang',
          ),
        received: () => standIn.received.items.map((r) => ({ token: r.token, body: r.body })),
        timeoutMs: TIMEOUT_MS,
      };
      return target;
    },
    async () => {
      await provider.close();
      await standIn.stop();
    },
  );

  describe('APNs request as Apple expects it', () => {
    it('is an alert with mutable-content, the idempotency key as apns-id and collapse id, and the PHI-free payload', async () => {
      const received = standIn.received.items.filter((r) => r.status === 200);
      expect(received.length).toBeGreaterThan(0);
      const last = received[received.length - 1]!;
      expect(last.headers['apns-topic']).toBe('org.example.ledgerline');
      expect(last.headers['apns-push-type']).toBe('alert');
      expect(last.headers['apns-collapse-id']).toBe(last.headers['apns-id']);
      const body = JSON.parse(last.body) as {
        aps: Record<string, unknown>;
        ll: Record<string, unknown>;
      };
      expect(body.aps['mutable-content']).toBe(1);
      expect(Object.keys(body).sort()).toEqual(['aps', 'll']);
      expect(Object.keys(body.ll).sort()).toEqual(['conversationId', 'count', 'id', 'kind']);
      expect(body.ll['id']).toBe(last.headers['apns-id']);
    });
  });
}

// ---- FCM: firebase-admin against a local HTTPS stand-in for FCM v1 and Google's token exchange --

{
  let standIn: FcmStandIn;
  let provider: FcmPushProvider;
  pushProviderContract(
    'FCM HTTP v1 (firebase-admin) against an HTTPS stand-in with its OAuth token exchange',
    true,
    async () => {
      const account = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const serviceAccount = {
        type: 'service_account',
        project_id: 'ledgerline-test',
        client_email: 'push@ledgerline-test.iam.gserviceaccount.com',
        private_key: account.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      };
      standIn = await FcmStandIn.start({
        tls: sharedTls(),
        accountPublicKey: account.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        clientEmail: serviceAccount.client_email,
        projectId: serviceAccount.project_id,
      });
      const serviceAccountFile = join(sharedTls().dir, 'service-account.json');
      writeFileSync(serviceAccountFile, JSON.stringify(serviceAccount));
      provider = new FcmPushProvider({
        serviceAccountFile,
        address: { host: '127.0.0.1', port: standIn.port },
        ca: [sharedTls().ca],
        timeoutMs: TIMEOUT_MS,
      });
      const dead = fcmToken();
      standIn.script(dead, 'UNREGISTERED');
      const bogus = fcmToken();
      standIn.script(bogus, 'INVALID_ARGUMENT');
      return {
        provider,
        platform: 'fcm',
        appId: 'org.example.ledgerline',
        environment: 'production',
        liveToken: fcmToken(),
        deadToken: dead,
        bogusToken: bogus,
        script: (token, failure) =>
          standIn.script(
            token,
            failure === 'throttled'
              ? 'QUOTA_EXCEEDED'
              : failure === 'server_error'
                ? 'INTERNAL'
                : failure === 'bad_request'
                  ? 'INVALID_ARGUMENT'
                  : 'hang',
          ),
        received: () => standIn.received.items.map((r) => ({ token: r.token, body: r.body })),
        timeoutMs: TIMEOUT_MS,
      };
    },
    async () => {
      await provider.close();
      await standIn.stop();
    },
  );

  describe('FCM request as Google expects it', () => {
    it('went through the OAuth token exchange, and is a data message collapsing on the idempotency key', () => {
      expect(standIn.tokenExchanges).toContain('urn:ietf:params:oauth:grant-type:jwt-bearer');
      const sent = standIn.received.items.filter((r) => r.status === 200);
      const last = JSON.parse(sent[sent.length - 1]!.body) as {
        message: {
          notification?: unknown;
          data: Record<string, string>;
          android: { collapse_key: string };
        };
      };
      expect(last.message.notification).toBeUndefined();
      expect(Object.keys(last.message.data).sort()).toEqual([
        'body',
        'conversationId',
        'count',
        'idempotencyKey',
        'kind',
        'title',
      ]);
      expect(last.message.android.collapse_key).toBe(last.message.data['idempotencyKey']);
    });
  });
}

// ---- the log provider (development) -------------------------------------------------------------

{
  const lines: Record<string, unknown>[] = [];
  pushProviderContract(
    'log provider',
    false,
    () =>
      Promise.resolve({
        provider: new LogPushProvider({ log: (fields) => lines.push(fields) }),
        platform: 'apns',
        appId: 'org.example.ledgerline',
        environment: 'sandbox',
        liveToken: apnsToken(),
        bogusToken: 'not-a-token',
        timeoutMs: TIMEOUT_MS,
      }),
    () => Promise.resolve(),
  );
}

// ---- the real services, when credentials are given ----------------------------------------------

describeWhenEnv('LEDGERLINE_TEST_APNS_KEY_FILE', 'APNs, the real service', () => {
  let provider: ApnsPushProvider;
  pushProviderContract(
    'APNs (api.sandbox.push.apple.com)',
    false,
    () => {
      const env = process.env;
      provider = new ApnsPushProvider({
        key: readFileSync(env['LEDGERLINE_TEST_APNS_KEY_FILE']!, 'utf8'),
        keyId: env['LEDGERLINE_TEST_APNS_KEY_ID'] ?? '',
        teamId: env['LEDGERLINE_TEST_APNS_TEAM_ID'] ?? '',
        timeoutMs: 10_000,
      });
      return Promise.resolve({
        provider,
        platform: 'apns',
        appId: env['LEDGERLINE_TEST_APNS_TOPIC'] ?? '',
        environment: 'sandbox',
        liveToken: env['LEDGERLINE_TEST_APNS_DEVICE_TOKEN'] ?? '',
        bogusToken: apnsToken(),
        timeoutMs: 10_000,
      });
    },
    () => provider.close(),
  );
});

describeWhenEnv('LEDGERLINE_TEST_FCM_SERVICE_ACCOUNT_FILE', 'FCM, the real service', () => {
  let provider: FcmPushProvider;
  pushProviderContract(
    'FCM HTTP v1 (fcm.googleapis.com)',
    false,
    () => {
      const env = process.env;
      provider = new FcmPushProvider({
        serviceAccountFile: env['LEDGERLINE_TEST_FCM_SERVICE_ACCOUNT_FILE']!,
        timeoutMs: 10_000,
      });
      return Promise.resolve({
        provider,
        platform: 'fcm',
        appId: env['LEDGERLINE_TEST_FCM_APP_ID'] ?? 'org.example.ledgerline',
        environment: 'production',
        liveToken: env['LEDGERLINE_TEST_FCM_DEVICE_TOKEN'] ?? '',
        bogusToken: fcmToken(),
        timeoutMs: 10_000,
      });
    },
    () => provider.close(),
  );
});
