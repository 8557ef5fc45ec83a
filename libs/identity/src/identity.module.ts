import {
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
} from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  type Clock,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { AccessPolicy } from './access/access-policy';
import type { AccessRecorder } from './access/access-recorder.port';
import { ACCESS_CATALOGUE, AccessCatalogue } from './access/access-catalogue';
import { loadRolePolicy, type RolePolicy } from './access/role-policy';
import { ApiKeyRevocations } from './api-keys/api-key-revocations';
import { ApiKeyStore } from './api-keys/api-key-store';
import { BearerAuthenticator } from './authentication/bearer-authenticator';
import { JwtAuthenticator } from './authentication/jwt-authenticator';
import { SignInAuditingAuthenticator } from './authentication/sign-in-auditing-authenticator';
import { DevTokenIssuer } from './dev-tokens/dev-token-issuer';
import { resolveJwtSettings, type IdentitySettings } from './identity.config';
import { USER_REQUEST_BUDGET, UserRequestBudget } from './limits/user-request-budget';

export const IDENTITY_SETTINGS = Symbol('IdentitySettings');
/** The validated policies/roles.yaml (RolePolicy). */
export const ROLE_POLICY = Symbol('RolePolicy');
/** The AccessPolicy every handler checks first. */
export const ACCESS_POLICY = Symbol('AccessPolicy');
/** The AccessRecorder the audit lib provides (globally); the identity module refuses to start without it. */
export const ACCESS_RECORDER = Symbol('AccessRecorder');
/** The edge's Authenticator: API keys and JWTs behind one call, sign-ins recorded. */
export const AUTHENTICATOR = Symbol('Authenticator');
export const JWT_AUTHENTICATOR = Symbol('JwtAuthenticator');
export const API_KEY_STORE = Symbol('ApiKeyStore');
/** ApiKeyRevocations: what long-lived connections watch to end when their API key is revoked. */
export const API_KEY_REVOCATIONS = Symbol('ApiKeyRevocations');
/** The DevTokenIssuer when LEDGERLINE_DEV_TOKENS=true, else null. */
export const DEV_TOKEN_ISSUER = Symbol('DevTokenIssuer');

class IdentityLifecycle implements BeforeApplicationShutdown {
  constructor(
    @Inject(DEV_TOKEN_ISSUER) private readonly dev: DevTokenIssuer | null,
    @Inject(API_KEY_REVOCATIONS) private readonly revocations: ApiKeyRevocations,
  ) {}
  async beforeApplicationShutdown(): Promise<void> {
    await this.revocations.stop();
    await this.dev?.close();
  }
}

/**
 * Authentication (JWTs of the host app, API keys of its backends, dev tokens in development) and
 * the access policy. Needs CONFIG, CLOCK, ID_GENERATOR and SQL_CLIENT from the app, and an
 * ACCESS_RECORDER from the audit lib. The roles file is loaded and validated while the
 * module starts, so a bad policy stops the process before it serves anything.
 */
@Module({})
export class IdentityModule {
  /** `catalogue`: the permissions and access actions of the libs the process composes. */
  static forRoot(settings: IdentitySettings, catalogue: AccessCatalogue): DynamicModule {
    return {
      module: IdentityModule,
      global: true,
      providers: [
        { provide: IDENTITY_SETTINGS, useValue: settings },
        { provide: ACCESS_CATALOGUE, useValue: catalogue },
        { provide: ROLE_POLICY, useFactory: () => loadRolePolicy(settings.rolesFile, catalogue) },
        {
          provide: ACCESS_POLICY,
          inject: [ROLE_POLICY, ACCESS_RECORDER],
          useFactory: (policy: RolePolicy, recorder: AccessRecorder) =>
            new AccessPolicy(policy, recorder),
        },
        {
          provide: DEV_TOKEN_ISSUER,
          inject: [CONFIG, CLOCK],
          useFactory: (config: LedgerlineConfig, clock: Clock) =>
            settings.devTokens
              ? DevTokenIssuer.start({
                  environment: config.env,
                  jwt: settings.jwt,
                  port: settings.devTokensPort,
                  clock,
                })
              : null,
        },
        {
          provide: JWT_AUTHENTICATOR,
          inject: [CONFIG, CLOCK, DEV_TOKEN_ISSUER],
          useFactory: (config: LedgerlineConfig, clock: Clock, dev: DevTokenIssuer | null) =>
            new JwtAuthenticator(
              dev ? dev.jwtSettings() : resolveJwtSettings(settings.jwt, config.env),
              clock,
            ),
        },
        {
          provide: API_KEY_STORE,
          inject: [SQL_CLIENT, CLOCK, ID_GENERATOR, ROLE_POLICY],
          useFactory: (client: SqlClient, clock: Clock, ids: IdGenerator, policy: RolePolicy) =>
            ApiKeyStore.open(client, { clock, ids, definesRole: (role) => policy.roles.has(role) }),
        },
        {
          provide: API_KEY_REVOCATIONS,
          inject: [SQL_CLIENT],
          useFactory: (client: SqlClient) => {
            const logger = new Logger('Identity');
            return new ApiKeyRevocations(client, (what, error) =>
              logger.warn({ msg: what, error: error instanceof Error ? error.name : typeof error }),
            );
          },
        },
        {
          provide: AUTHENTICATOR,
          inject: [JWT_AUTHENTICATOR, API_KEY_STORE, ACCESS_RECORDER, CLOCK],
          useFactory: (
            jwt: JwtAuthenticator,
            apiKeys: ApiKeyStore,
            recorder: AccessRecorder,
            clock: Clock,
          ) =>
            new SignInAuditingAuthenticator(new BearerAuthenticator(jwt, apiKeys), recorder, {
              clock,
            }),
        },
        {
          // One per-user budget for every edge (realtime, GraphQL over HTTP and graphql-ws).
          provide: USER_REQUEST_BUDGET,
          inject: [CONFIG],
          useFactory: (config: LedgerlineConfig) =>
            new UserRequestBudget({ ratePerUser: config.realtime.ratePerUser }),
        },
        IdentityLifecycle,
      ],
      exports: [
        USER_REQUEST_BUDGET,
        IDENTITY_SETTINGS,
        ACCESS_CATALOGUE,
        ROLE_POLICY,
        ACCESS_POLICY,
        AUTHENTICATOR,
        JWT_AUTHENTICATOR,
        API_KEY_STORE,
        API_KEY_REVOCATIONS,
        DEV_TOKEN_ISSUER,
      ],
    };
  }
}
