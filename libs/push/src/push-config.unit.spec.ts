import { ConfigError, loadConfig } from '@ledgerline/kernel';
import { pushManifest } from './manifest';
import { pushConfig } from './push.config';

describe('push configuration (LEDGERLINE_PUSH_*)', () => {
  it('defaults to the log provider for both platforms, the dispatcher on', () => {
    const push = loadConfig({}, [pushManifest]).slice(pushConfig);
    expect(push).toMatchObject({
      enabled: true,
      apns: { provider: 'log' },
      fcm: { provider: 'log' },
      templatesFile: 'policies/push-templates.yaml',
    });
  });

  it('APNs needs its key file, key id and team id; FCM its service account; each missing one is named', () => {
    let error: unknown;
    try {
      loadConfig({ LEDGERLINE_PUSH_APNS_PROVIDER: 'apns', LEDGERLINE_PUSH_FCM_PROVIDER: 'fcm' }, [
        pushManifest,
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      'LEDGERLINE_PUSH_APNS_KEY_FILE',
      'LEDGERLINE_PUSH_APNS_KEY_ID',
      'LEDGERLINE_PUSH_APNS_TEAM_ID',
      'LEDGERLINE_PUSH_FCM_SERVICE_ACCOUNT_FILE',
    ]);
  });

  it('reads another endpoint as host and port, and refuses a malformed one', () => {
    const push = loadConfig(
      {
        LEDGERLINE_PUSH_APNS_PROVIDER: 'apns',
        LEDGERLINE_PUSH_APNS_KEY_FILE: '/keys/AuthKey.p8',
        LEDGERLINE_PUSH_APNS_KEY_ID: 'ABC123DEFG',
        LEDGERLINE_PUSH_APNS_TEAM_ID: 'TEAM123456',
        LEDGERLINE_PUSH_APNS_ADDRESS: '127.0.0.1:8443',
      },
      [pushManifest],
    ).slice(pushConfig);
    expect(push.apns).toMatchObject({
      provider: 'apns',
      address: { host: '127.0.0.1', port: 8443 },
    });
    expect(() =>
      loadConfig({ LEDGERLINE_PUSH_APNS_ADDRESS: 'https://api.push.apple.com' }, [pushManifest]),
    ).toThrow(ConfigError);
    expect(() => loadConfig({ LEDGERLINE_PUSH_APNS_KEY_ID: 'lower-case' }, [pushManifest])).toThrow(
      ConfigError,
    );
  });
});
