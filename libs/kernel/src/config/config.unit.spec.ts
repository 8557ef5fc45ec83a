import { ConfigError } from '../errors';
import { loadConfig } from './config';

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.storage.dataDir).toBe('./data');
    expect(config.storage.databaseUrl).toBeUndefined();
    expect(config.http.port).toBe(3000);
    expect(config.keys.provider).toBe('local');
    expect(config.keys.keyringFile).toBe('./data/keyring.json');
  });

  it('names every bad variable and never echoes its value', () => {
    let error: unknown;
    try {
      loadConfig({ LEDGERLINE_PORT: 'seventy', DATABASE_URL: 'mysql://u:hunter2@db/x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('LEDGERLINE_PORT');
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('hunter2');
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      'DATABASE_URL',
      'LEDGERLINE_PORT',
    ]);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).storage.databaseUrl).toBeUndefined();
  });

  it('parses per-tenant KMS keys and requires a key for aws-kms', () => {
    const config = loadConfig({
      LEDGERLINE_KEY_PROVIDER: 'aws-kms',
      LEDGERLINE_KMS_KEYS: 'acme=alias/acme, beta=arn:aws:kms:eu-west-1:1:key/abc',
    });
    expect(config.keys.aws.tenantKeys.get('acme')).toBe('alias/acme');
    expect(config.keys.aws.tenantKeys.get('beta')).toBe('arn:aws:kms:eu-west-1:1:key/abc');
    expect(() => loadConfig({ LEDGERLINE_KEY_PROVIDER: 'aws-kms' })).toThrow(
      /LEDGERLINE_KMS_DEFAULT_KEY/,
    );
    expect(() => loadConfig({ LEDGERLINE_KMS_KEYS: 'nonsense' })).toThrow(/LEDGERLINE_KMS_KEYS/);
  });

  it('refuses a batch cap smaller than the event cap', () => {
    expect(() =>
      loadConfig({ LEDGERLINE_EVENT_MAX_BYTES: '2000', LEDGERLINE_APPEND_MAX_BYTES: '1000' }),
    ).toThrow(/LEDGERLINE_APPEND_MAX_BYTES/);
  });

  it('requires a master secret in production with the local key ring', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/LEDGERLINE_MASTER_KEY_FILE/);
    expect(
      loadConfig({ NODE_ENV: 'production', LEDGERLINE_MASTER_KEY_FILE: '/run/secrets/mk' }).env,
    ).toBe('production');
    expect(loadConfig({}).keys.masterKeyFile).toBeUndefined();
  });

  it('turns development tokens on only in development without an identity provider', () => {
    expect(loadConfig({}).identity.devTokens).toBe(true);
    expect(loadConfig({ LEDGERLINE_JWT_ISSUER: 'https://idp.example' }).identity.devTokens).toBe(
      false,
    );
    expect(loadConfig({ NODE_ENV: 'test' }).identity.devTokens).toBe(false);
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        LEDGERLINE_MASTER_KEY: 'x'.repeat(44),
        LEDGERLINE_DEV_TOKENS: 'true',
      }),
    ).toThrow(/LEDGERLINE_DEV_TOKENS/);
  });

  it('serves metrics on a loopback operator port by default, configurable, or not at all', () => {
    expect(loadConfig({}).metrics).toEqual({ enabled: true, host: '127.0.0.1', port: 9464 });
    expect(
      loadConfig({ LEDGERLINE_METRICS_HOST: '10.0.0.5', LEDGERLINE_METRICS_PORT: '0' }).metrics,
    ).toEqual({ enabled: true, host: '10.0.0.5', port: 0 });
    expect(loadConfig({ LEDGERLINE_METRICS_ENABLED: 'false' }).metrics.enabled).toBe(false);
    expect(() => loadConfig({ LEDGERLINE_METRICS_PORT: '70000' })).toThrow(
      /LEDGERLINE_METRICS_PORT/,
    );
    expect(() => loadConfig({ LEDGERLINE_METRICS_ENABLED: 'maybe' })).toThrow(
      /LEDGERLINE_METRICS_ENABLED/,
    );
    // Never on the public port.
    expect(() => loadConfig({ LEDGERLINE_PORT: '8080', LEDGERLINE_METRICS_PORT: '8080' })).toThrow(
      /LEDGERLINE_METRICS_PORT: must differ from LEDGERLINE_PORT/,
    );
    expect(
      loadConfig({
        LEDGERLINE_PORT: '8080',
        LEDGERLINE_METRICS_PORT: '8080',
        LEDGERLINE_METRICS_ENABLED: 'false',
      }).metrics.enabled,
    ).toBe(false);
    expect(loadConfig({ LEDGERLINE_PORT: '0', LEDGERLINE_METRICS_PORT: '0' }).metrics.port).toBe(0);
  });

  it('reads the turn section: secrets, port, allowlist, validated once', () => {
    const turn = loadConfig({
      LEDGERLINE_TURN_SECRETS: 'first-secret-0123456789, second-secret-0123456789',
      LEDGERLINE_TURN_PEER_ALLOWLIST: '10.20.0.0/16,fd00:1::/48',
    }).turn;
    expect(turn.secrets).toEqual(['first-secret-0123456789', 'second-secret-0123456789']);
    expect(turn.port).toBe(3478);
    expect(turn.peerAllowlist).toEqual(['10.20.0.0/16', 'fd00:1::/48']);
    expect(loadConfig({ LEDGERLINE_PORT: '0' }).turn.port).toBe(0);
    expect(loadConfig({}).turn.secrets).toHaveLength(1);
    expect(
      loadConfig({ NODE_ENV: 'production', LEDGERLINE_MASTER_KEY_FILE: '/run/secrets/mk' }).turn
        .secrets,
    ).toEqual([]);
    expect(() => loadConfig({ LEDGERLINE_TURN_SECRETS: 'short' })).toThrow(
      /LEDGERLINE_TURN_SECRETS/,
    );
    expect(() => loadConfig({ LEDGERLINE_TURN_PEER_ALLOWLIST: '10.0.0.0/40' })).toThrow(
      /LEDGERLINE_TURN_PEER_ALLOWLIST/,
    );
    expect(() => loadConfig({ LEDGERLINE_TURN_HOST: '0.0.0.0' })).toThrow(
      /LEDGERLINE_TURN_EXTERNAL_ADDRESS/,
    );
  });
});
