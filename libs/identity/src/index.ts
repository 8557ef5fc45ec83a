export { type Principal, type PrincipalKind, actorOf, accessActorOf } from './principal';
export {
  AuthenticationError,
  type AuthenticationFailure,
  AccessDeniedError,
  type AccessDenial,
  PolicyFileError,
  DevTokensForbiddenError,
} from './identity.errors';
export {
  type IdentitySettings,
  type JwtSettings,
  type ResolvedJwtSettings,
  DEFAULT_IDENTITY_SETTINGS,
  DEFAULT_JWT_SETTINGS,
  resolveJwtSettings,
  identityConfig,
} from './identity.config';
export type { Authenticator, AuthenticationExpectation } from './authentication/authenticator.port';
export { bearerCredential } from './authentication/bearer-credential';
export { JwtAuthenticator, ACCEPTED_JWT_ALGORITHMS } from './authentication/jwt-authenticator';
export { BearerAuthenticator } from './authentication/bearer-authenticator';
export {
  SignInAuditingAuthenticator,
  DEPLOYMENT_AUDIT_TENANT,
} from './authentication/sign-in-auditing-authenticator';
export { requestOriginOf, DEVICE_ID_HEADER } from './authentication/request-origin';
export { ApiKeyStore, type ApiKeyInfo, type ApiKeyStoreOptions } from './api-keys/api-key-store';
export { identityManifest } from './manifest';
export {
  ApiKeyRevocations,
  API_KEY_REVOKED_CHANNEL,
  announceApiKeyRevoked,
} from './api-keys/api-key-revocations';
export { RESERVED_TENANT_PREFIX, isReservedTenantId } from './reserved-tenants';
export {
  IDENTITY_PERMISSIONS,
  PERMISSION_NAME,
  type Permission,
  type Permissions,
} from './access/permissions';
export { AccessCatalogue, ACCESS_CATALOGUE } from './access/access-catalogue';
export { type RolePolicy, loadRolePolicy, parseRolePolicy } from './access/role-policy';
export { AccessPolicy } from './access/access-policy';
export {
  IDENTITY_ACCESS_ACTIONS,
  type AccessAction,
  type AccessActions,
  type AccessActor,
  type AccessOutcome,
  type AccessRecord,
  type AccessRecorder,
  type RequestOrigin,
  type ResourceRef,
} from './access/access-recorder.port';
export {
  DevTokenIssuer,
  type DevTokenIssuerOptions,
  type DevTokenRequest,
} from './dev-tokens/dev-token-issuer';
export {
  IdentityModule,
  IDENTITY_SETTINGS,
  ROLE_POLICY,
  ACCESS_POLICY,
  ACCESS_RECORDER,
  AUTHENTICATOR,
  JWT_AUTHENTICATOR,
  API_KEY_STORE,
  API_KEY_REVOCATIONS,
  DEV_TOKEN_ISSUER,
} from './identity.module';
export {
  REQUEST_RATE_BURST,
  USER_REQUEST_BUDGET,
  UserRequestBudget,
  userRequestKey,
  type UserRequestBudgetSettings,
} from './limits/user-request-budget';
