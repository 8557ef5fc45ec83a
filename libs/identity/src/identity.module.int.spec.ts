import { CollectedAccessRecords } from '@ledgerline/testing';
import { join } from 'node:path';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SQL_CLIENT } from '@ledgerline/database';
import {
  CLOCK,
  CONFIG,
  ConfigError,
  ID_GENERATOR,
  loadConfig,
  systemClock,
  uuidV7Generator,
} from '@ledgerline/kernel';
import { AccessCatalogue } from './access/access-catalogue';
import { loadRolePolicy } from './access/role-policy';
import { identityManifest } from './manifest';
import { openTestDatabase, type TestDatabase } from '@ledgerline/testing';
import {
  ACCESS_RECORDER,
  ACCESS_POLICY,
  API_KEY_STORE,
  AUTHENTICATOR,
  AccessDeniedError,
  AccessPolicy,
  ApiKeyStore,
  DEFAULT_IDENTITY_SETTINGS,
  DEV_TOKEN_ISSUER,
  DevTokenIssuer,
  DevTokensForbiddenError,
  IdentityModule,
  PolicyFileError,
  bearerCredential,
  type Authenticator,
  type IdentitySettings,
} from './index';
import { JwksTestServer, makeSigningKey, signToken } from './testing/jwks-test-server';

const ROLES_FILE = join(__dirname, '../../../policies/roles.yaml');
// The other libs' permissions, as the server's composition would declare them: those the
// checked-in roles file grants.
const CATALOGUE = new AccessCatalogue([
  identityManifest,
  {
    name: 'the other libs',
    permissions: [...loadRolePolicy(ROLES_FILE).roles.values()].flatMap((p) => [...p]),
  },
]);

// What the app module and (later) libs/audit provide. The recorder is the in-memory collector
// because libs/audit does not exist yet.
function host(
  db: TestDatabase,
  recorder?: CollectedAccessRecords,
  env: Record<string, string> = { NODE_ENV: 'test' },
): DynamicModule {
  @Global()
  @Module({})
  class HostModule {}
  const providers = [
    { provide: CONFIG, useValue: loadConfig(env) },
    { provide: CLOCK, useValue: systemClock },
    { provide: ID_GENERATOR, useValue: uuidV7Generator },
    { provide: SQL_CLIENT, useValue: db.client },
    ...(recorder ? [{ provide: ACCESS_RECORDER, useValue: recorder }] : []),
  ];
  return {
    module: HostModule,
    providers,
    exports: providers.map((p) => p.provide),
  };
}

const devSettings: IdentitySettings = {
  ...DEFAULT_IDENTITY_SETTINGS,
  devTokens: true,
  rolesFile: ROLES_FILE,
};

// For start-ups that are meant to fail: nothing is listening or fetched before they do.
const idpSettings: IdentitySettings = {
  ...DEFAULT_IDENTITY_SETTINGS,
  jwt: {
    ...DEFAULT_IDENTITY_SETTINGS.jwt,
    issuer: 'https://idp.example.test/',
    audience: 'ledgerline',
    jwksUrl: 'https://idp.example.test/.well-known/jwks.json',
  },
  rolesFile: ROLES_FILE,
};

describe('IdentityModule', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openTestDatabase(undefined, [identityManifest]);
  });

  afterAll(() => db.close());

  it('authenticates dev tokens and API keys through one authenticator, and checks access', async () => {
    const denials = new CollectedAccessRecords();
    const moduleRef = await Test.createTestingModule({
      imports: [host(db, denials), IdentityModule.forRoot(devSettings, CATALOGUE)],
    }).compile();
    try {
      const authenticator = moduleRef.get<Authenticator>(AUTHENTICATOR);
      const access = moduleRef.get<AccessPolicy>(ACCESS_POLICY);
      const dev = moduleRef.get<DevTokenIssuer>(DEV_TOKEN_ISSUER);
      const keys = moduleRef.get<ApiKeyStore>(API_KEY_STORE);

      const { token } = await dev.issue({ tenantId: 't-1', userId: 'alice', roles: ['user'] });
      const alice = await authenticator.authenticate(bearerCredential(`Bearer ${token}`));
      expect(alice).toMatchObject({ kind: 'user', id: 'alice', tenantId: 't-1' });
      await access.check(alice, 'message.send');
      await expect(access.check(alice, 'audit.export')).rejects.toBeInstanceOf(AccessDeniedError);
      expect(denials.denials).toMatchObject([
        { permission: 'audit.export', actor: { id: alice.id, kind: 'user' } },
      ]);

      const { key } = await keys.create('t-1', 'backend', ['service']);
      const backend = await authenticator.authenticate(key);
      expect(backend).toMatchObject({ kind: 'service', tenantId: 't-1', roles: ['service'] });
      await access.check(backend, 'conversation.create_on_behalf');
      await expect(keys.create('t-1', 'backend', ['root'])).rejects.toThrow(/root/);
    } finally {
      await moduleRef.close();
    }
  });

  it('verifies the host app’s tokens against its JWKS when dev tokens are off', async () => {
    const jwks = new JwksTestServer();
    await jwks.start();
    const key = await makeSigningKey('RS256');
    jwks.publish(key);
    const moduleRef = await Test.createTestingModule({
      imports: [
        host(db, new CollectedAccessRecords()),
        IdentityModule.forRoot(
          { ...idpSettings, jwt: { ...idpSettings.jwt, jwksUrl: jwks.url } },
          CATALOGUE,
        ),
      ],
    }).compile();
    try {
      expect(moduleRef.get(DEV_TOKEN_ISSUER)).toBeNull();
      const now = Math.floor(Date.now() / 1000);
      const token = await signToken(key, {
        iss: 'https://idp.example.test/',
        aud: 'ledgerline',
        sub: 'carol',
        tenant_id: 't-2',
        roles: ['user'],
        exp: now + 60,
      });
      await expect(
        moduleRef.get<Authenticator>(AUTHENTICATOR).authenticate(token),
      ).resolves.toMatchObject({ kind: 'user', id: 'carol', tenantId: 't-2', roles: ['user'] });
    } finally {
      await moduleRef.close();
      await jwks.stop();
    }
  });

  it('refuses to start dev tokens in production', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          host(db, new CollectedAccessRecords(), {
            NODE_ENV: 'production',
            LEDGERLINE_MASTER_KEY: 'x'.repeat(44),
          }),
          IdentityModule.forRoot(devSettings, CATALOGUE),
        ],
      }).compile(),
    ).rejects.toBeInstanceOf(DevTokensForbiddenError);
  });

  it('refuses to start without an access-denied recorder', async () => {
    await expect(
      Test.createTestingModule({
        imports: [host(db), IdentityModule.forRoot(idpSettings, CATALOGUE)],
      }).compile(),
    ).rejects.toThrow(/AccessRecorder/);
  });

  it('refuses to start with an invalid roles file', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          host(db, new CollectedAccessRecords()),
          IdentityModule.forRoot(
            { ...idpSettings, rolesFile: join(__dirname, 'missing.yaml') },
            CATALOGUE,
          ),
        ],
      }).compile(),
    ).rejects.toBeInstanceOf(PolicyFileError);
  });

  it('refuses to start without JWT settings unless dev tokens are on', async () => {
    const error: unknown = await Test.createTestingModule({
      imports: [
        host(db, new CollectedAccessRecords()),
        IdentityModule.forRoot({ ...DEFAULT_IDENTITY_SETTINGS, rolesFile: ROLES_FILE }, CATALOGUE),
      ],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable)).toEqual([
      'LEDGERLINE_JWT_ISSUER',
      'LEDGERLINE_JWT_AUDIENCE',
      'LEDGERLINE_JWT_JWKS_URL',
    ]);
  });
});
