import { z } from 'zod';
import { configVar, defineConfigSlice } from './config-slice';
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

  it('loads the slices of the composed libs with the rest, reporting every bad variable at once', () => {
    const slice = defineConfigSlice(
      'sample',
      { SAMPLE_LIMIT: configVar.int(1, 10).default(5), SAMPLE_NAME: z.string().optional() },
      (e, core, problems) => {
        if (e.SAMPLE_NAME === 'forbidden') {
          problems.push({ variable: 'SAMPLE_NAME', problem: 'is forbidden' });
        }
        return { limit: e.SAMPLE_LIMIT, port: core.httpPort };
      },
    );
    const lib = { config: slice };
    expect(loadConfig({ SAMPLE_LIMIT: '7', LEDGERLINE_PORT: '0' }, [lib]).slice(slice)).toEqual({
      limit: 7,
      port: 0,
    });
    // One error names the lib's variable and the kernel's, never their values.
    const error = (() => {
      try {
        loadConfig({ SAMPLE_LIMIT: '99', LEDGERLINE_PORT: 'seventy' }, [lib]);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/SAMPLE_LIMIT/);
    expect(error.message).toMatch(/LEDGERLINE_PORT/);
    expect(error.message).not.toMatch(/seventy|99/);
    expect(() => loadConfig({ SAMPLE_NAME: 'forbidden' }, [lib])).toThrow(
      /SAMPLE_NAME: is forbidden/,
    );
  });

  it('reads a slice the app did not compose on first use, refused the same way', () => {
    const slice = defineConfigSlice(
      'lazy',
      { LAZY_N: configVar.int(1, 3).default(2) },
      (e) => e.LAZY_N,
    );
    expect(loadConfig({}).slice(slice)).toBe(2);
    const config = loadConfig({ LAZY_N: '9' });
    expect(() => config.slice(slice)).toThrow(ConfigError);
  });
});
