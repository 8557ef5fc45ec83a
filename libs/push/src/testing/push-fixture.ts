import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConversationCommands,
  ConversationStates,
  SqlConversationSnapshots,
} from '@ledgerline/conversations';
import { migrateSchema } from '@ledgerline/database';
import { AccessPolicy, loadRolePolicy, type Principal } from '@ledgerline/identity';
import { schemaOf, uuidV7Generator, type GlobalPosition } from '@ledgerline/kernel';
import { CommandRunner, ProjectionProcessor } from '@ledgerline/pipeline';
import { SqlPresenceConnections } from '@ledgerline/presence';
import {
  CollectedAccessRecords,
  openLedgerFixture,
  type LedgerFixture,
  type TestDatabaseKind,
} from '@ledgerline/testing';
import { ApnsPushProvider } from '../adapters/apns-push-provider.adapter';
import { FcmPushProvider } from '../adapters/fcm-push-provider.adapter';
import { FcmStandIn } from '../stand-ins/fcm-stand-in';
import { PushCommands } from '../application/push-commands.handler';
import { ApnsStandIn } from '../stand-ins/apns-stand-in';
import { createStandInTls, type StandInTls } from '../stand-ins/stand-in-tls';
import type { DispatchReport, PushDispatcherOptions } from '../application/push-dispatcher';
import { PushDispatcher } from '../adapters/sql-push-outbox.adapter';
import { SqlPushSettingsReads } from '../adapters/sql-push-settings-reads.adapter';
import { PushQueries } from '../application/push-queries';
import type { PushProvider } from '../application/push-provider.port';
import type { PushPlatform } from '../domain/push.events';
import { loadPushTemplates } from '../application/push-templates.loader';
import { pushManifest } from '../manifest';
import { PUSH_PROJECTION, pushProjection } from '../projections/push.projection';
import { conversationsManifest } from '@ledgerline/conversations/manifest';
import { pipelineManifest } from '@ledgerline/pipeline/manifest';
import { presenceManifest } from '@ledgerline/presence/manifest';

const POLICIES = join(__dirname, '../../../../policies');

/** Text that must never reach a provider, a log line or a record: message text, a title, a name. */
export const PUSH_CANARY = 'CANARY-7f3a-Mrs-Smith-oncology';
export const LEASE_MS = 60_000;

/**
 * The push path end to end on a real database and a real key ring: conversation commands and
 * push commands through the one CommandRunner, the push projection on a ProjectionProcessor, the
 * dispatcher sending through the real APNs and FCM adapters to their local stand-ins, presence from
 * the real connection table, access records collected.
 */
export interface PushFixture {
  readonly f: LedgerFixture;
  readonly accessLog: CollectedAccessRecords;
  readonly conversations: ConversationCommands;
  readonly push: PushCommands;
  readonly queries: PushQueries;
  readonly processor: ProjectionProcessor;
  readonly connections: SqlPresenceConnections;
  readonly apns: ApnsStandIn;
  readonly fcm: FcmStandIn;
  readonly reports: DispatchReport[];
  /** Every line the dispatchers logged. */
  readonly logLines: Record<string, unknown>[];
  newDispatcher(
    options?: Partial<PushDispatcherOptions> & {
      readonly providers?: Record<PushPlatform, PushProvider>;
    },
  ): PushDispatcher;
  /** Waits until the push projection holds the log up to `position`. */
  caughtUp(position: GlobalPosition | undefined): Promise<void>;
  close(): Promise<void>;
}

export async function openPushFixture(kind: TestDatabaseKind): Promise<PushFixture> {
  const f = await openLedgerFixture(kind);
  // The projection pushes only messages younger than an hour by the database's clock.
  f.clock.set(new Date());
  const accessLog = new CollectedAccessRecords();
  const access = new AccessPolicy(loadRolePolicy(join(POLICIES, 'roles.yaml')), accessLog);
  const runner = new CommandRunner(f.ledger, access, { ids: uuidV7Generator });
  const snapshots = SqlConversationSnapshots.create(f.db.client, f.newLedger().dataKeys, {
    clock: f.clock,
  });
  const conversations = new ConversationCommands(
    runner,
    new ConversationStates(f.ledger, snapshots),
    snapshots,
    { clock: f.clock, ids: uuidV7Generator },
  );
  // Push reads the conversations' members and presence's connections beside its own tables.
  await migrateSchema(
    f.db.client,
    schemaOf([pipelineManifest, conversationsManifest, presenceManifest, pushManifest]),
  );
  const processor = ProjectionProcessor.create(f.db.client, f.ledger, {
    restartDelayMs: 20,
    maxRestartDelayMs: 200,
  });
  processor.register(pushProjection());
  processor.start();
  const push = new PushCommands(runner, f.ledger, { clock: f.clock });
  const queries = new PushQueries(access, new SqlPushSettingsReads(f.db.client), f.clock);
  const connections = SqlPresenceConnections.create(f.db.client);

  const tls: StandInTls = createStandInTls();
  const team = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const apns = await ApnsStandIn.start({
    tls,
    teamPublicKey: team.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: 'KEY1234567',
    teamId: 'TEAM765432',
  });
  const provider = new ApnsPushProvider({
    key: team.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    keyId: 'KEY1234567',
    teamId: 'TEAM765432',
    address: { host: '127.0.0.1', port: apns.port },
    ca: [tls.ca],
    timeoutMs: 30_000, // a bound for a hung stand-in; a busy machine can take seconds
  });
  const account = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccountFile = join(tls.dir, 'service-account.json');
  writeFileSync(
    serviceAccountFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'ledgerline-fixture',
      client_email: 'push@ledgerline-fixture.iam.gserviceaccount.com',
      private_key: account.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    }),
  );
  const fcm = await FcmStandIn.start({
    tls,
    accountPublicKey: account.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    clientEmail: 'push@ledgerline-fixture.iam.gserviceaccount.com',
    projectId: 'ledgerline-fixture',
  });
  const fcmProvider = new FcmPushProvider({
    serviceAccountFile,
    address: { host: '127.0.0.1', port: fcm.port },
    ca: [tls.ca],
    timeoutMs: 30_000, // a bound for a hung stand-in; a busy machine can take seconds
  });
  const reports: DispatchReport[] = [];
  const logLines: Record<string, unknown>[] = [];
  const templates = loadPushTemplates(join(POLICIES, 'push-templates.yaml'));

  return {
    f,
    accessLog,
    conversations,
    push,
    queries,
    processor,
    connections,
    apns,
    fcm,
    reports,
    logLines,
    newDispatcher: ({ providers, ...options } = {}) =>
      new PushDispatcher(
        f.db.client,
        f.ledger,
        providers ?? { apns: provider, fcm: fcmProvider },
        {
          isOnline: async (tenantId, userId) =>
            (
              await connections.observe(
                tenantId,
                userId,
                new Date(f.clock.now().getTime() - LEASE_MS),
              )
            ).liveConnections > 0,
        },
        accessLog,
        push,
        {
          clock: f.clock,
          templates,
          retry: { baseMs: 1_000, maxMs: 60_000, maxAttempts: 3 },
          batchSize: 64,
          leaseMs: LEASE_MS,
          pollIntervalMs: 0,
          log: { warn: (fields) => logLines.push(fields) },
          random: () => 0.5,
          onReport: (r) => reports.push(r),
          ...options,
        },
      ),
    caughtUp: async (position) => {
      // A bound for a hung processor, not a budget: a 10,000-message burst on a busy machine is slow.
      if (position)
        await processor.waitFor(position, { timeoutMs: 300_000, names: [PUSH_PROJECTION] });
    },
    async close() {
      await processor.stop();
      await provider.close();
      await fcmProvider.close();
      await apns.stop();
      await fcm.stop();
      tls.dispose();
      await f.close();
    },
  };
}

/** A fresh tenant and its users. */
export function newTenant() {
  const tenantId = `t${randomUUID().slice(0, 8)}`;
  const user = (id: string, kind: Principal['kind'] = 'user'): Principal => ({
    kind,
    id,
    tenantId,
    roles: [kind],
  });
  return {
    tenantId,
    alice: user('alice'),
    bob: user('bob'),
    carol: user('carol'),
    backend: user('svc-backend', 'service'),
  };
}

export const apnsToken = () => randomBytes(32).toString('hex');
