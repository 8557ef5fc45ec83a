import { looksLikeApiKey } from '../api-keys/api-key-format';
import type { Principal } from '../principal';
import type { AuthenticationExpectation, Authenticator } from './authenticator.port';

/**
 * The one authenticator the edge (WebSocket upgrade, GraphQL, HTTP) calls: a credential that looks
 * like an API key (`llk_…`) goes to the API key store, anything else is taken for a JWT.
 */
export class BearerAuthenticator implements Authenticator {
  constructor(
    private readonly tokens: Authenticator,
    private readonly apiKeys: Authenticator,
  ) {}

  authenticate(
    credential: string | undefined,
    expected?: AuthenticationExpectation,
  ): Promise<Principal> {
    return credential !== undefined && looksLikeApiKey(credential)
      ? this.apiKeys.authenticate(credential, expected)
      : this.tokens.authenticate(credential, expected);
  }
}
