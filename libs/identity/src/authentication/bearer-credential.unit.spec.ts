import { AuthenticationError } from '../identity.errors';
import { bearerCredential } from './bearer-credential';

describe('bearerCredential', () => {
  it('takes the credential out of a Bearer header', () => {
    expect(bearerCredential('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerCredential('bearer llk_x')).toBe('llk_x');
  });

  it('treats no header as no credential, and any other scheme as malformed', () => {
    expect(bearerCredential(undefined)).toBeUndefined();
    expect(bearerCredential('  ')).toBeUndefined();
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'abc.def.ghi']) {
      expect(() => bearerCredential(header)).toThrow(AuthenticationError);
    }
  });
});
