import { loadConfig } from '@ledgerline/kernel';
import { turnManifest } from './manifest';
import { turnConfig } from './turn.config';

describe('the TURN configuration slice', () => {
  it('reads the turn slice: secrets, port, allowlist, validated once', () => {
    const turn = loadConfig(
      {
        LEDGERLINE_TURN_SECRETS: 'first-secret-0123456789, second-secret-0123456789',
        LEDGERLINE_TURN_PEER_ALLOWLIST: '10.20.0.0/16,fd00:1::/48',
      },
      [turnManifest],
    ).slice(turnConfig);
    expect(turn.secrets).toEqual(['first-secret-0123456789', 'second-secret-0123456789']);
    expect(turn.port).toBe(3478);
    expect(turn.peerAllowlist).toEqual(['10.20.0.0/16', 'fd00:1::/48']);
    expect(loadConfig({ LEDGERLINE_PORT: '0' }).slice(turnConfig).port).toBe(0);
    expect(loadConfig({}).slice(turnConfig).secrets).toHaveLength(1);
    expect(
      loadConfig({ NODE_ENV: 'production', LEDGERLINE_MASTER_KEY_FILE: '/run/secrets/mk' }).slice(
        turnConfig,
      ).secrets,
    ).toEqual([]);
    expect(() => loadConfig({ LEDGERLINE_TURN_SECRETS: 'short' }, [turnManifest])).toThrow(
      /LEDGERLINE_TURN_SECRETS/,
    );
    expect(() =>
      loadConfig({ LEDGERLINE_TURN_PEER_ALLOWLIST: '10.0.0.0/40' }, [turnManifest]),
    ).toThrow(/LEDGERLINE_TURN_PEER_ALLOWLIST/);
    expect(() => loadConfig({ LEDGERLINE_TURN_HOST: '0.0.0.0' }, [turnManifest])).toThrow(
      /LEDGERLINE_TURN_EXTERNAL_ADDRESS/,
    );
  });
});
