import { loadConfig } from '@ledgerline/kernel';
import { identityConfig } from './identity.config';
import { identityManifest } from './manifest';

describe('the identity configuration slice', () => {
  it('turns development tokens on only in development without an identity provider', () => {
    expect(loadConfig({}).slice(identityConfig).devTokens).toBe(true);
    expect(
      loadConfig({ LEDGERLINE_JWT_ISSUER: 'https://idp.example' }).slice(identityConfig).devTokens,
    ).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test' }).slice(identityConfig).devTokens).toBe(false);
    expect(() =>
      loadConfig(
        {
          NODE_ENV: 'production',
          LEDGERLINE_MASTER_KEY: 'x'.repeat(44),
          LEDGERLINE_DEV_TOKENS: 'true',
        },
        [identityManifest],
      ),
    ).toThrow(/LEDGERLINE_DEV_TOKENS/);
  });
});
