import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  ConversationCommands,
  ConversationProjections,
  ConversationStates,
  SqlConversationMemberships,
  SqlConversationSnapshots,
} from '@ledgerline/conversations';
import { DataKeyCache, DataKeys } from '@ledgerline/crypto';
import { AccessPolicy, loadRolePolicy, type Principal } from '@ledgerline/identity';
import { uuidV7Generator } from '@ledgerline/kernel';
import { CommandRunner, ProjectionProcessor } from '@ledgerline/pipeline';
import type { SfuPort } from '@ledgerline/sfu';
import {
  CollectedAccessRecords,
  openLedgerFixture,
  type LedgerFixture,
  type TestDatabaseKind,
} from '@ledgerline/testing';
import { CallProjections } from '../../projections/call-projections';
import { CallFanOut } from '../call-fan-out';
import { CallService, type CallIceServers, type CallServiceOptions } from '../call-service';
import { SqlCallConnections } from '../../adapters/sql-call-connections.adapter';
import { SqlCallReads } from '../../adapters/sql-call-reads.adapter';
import { SqlCallSignalRelay } from '../../adapters/sql-call-signal-relay.adapter';
import { CallStates } from '../call-states';
import { migrateSchema } from '@ledgerline/database';
import { schemaOf } from '@ledgerline/kernel';
import { pipelineManifest } from '@ledgerline/pipeline/manifest';
import { conversationsManifest } from '@ledgerline/conversations/manifest';
import { callsManifest } from '../../manifest';

// The checked-in roles file, as the server loads it.
const ROLES_FILE = join(__dirname, '../../../../../policies/roles.yaml');

export const RING_MS = 30_000;
export const GRACE_MS = 10_000;

export interface CallsFixture {
  readonly ledgerFixture: LedgerFixture;
  readonly accessLog: CollectedAccessRecords;
  readonly processor: ProjectionProcessor;
  /** A "node": its own service, relay, fan-out and state cache over the shared database. */
  newNode(
    sfu?: SfuPort,
    options?: Partial<CallServiceOptions>,
    iceServers?: CallIceServers,
  ): Promise<CallService>;
  /** A conversation of these members (the first owns it), once the read models show it. */
  conversation(owner: Principal, others: readonly string[]): Promise<string>;
  /** Resolves once the read models hold everything appended so far. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function openCallsFixture(kind: TestDatabaseKind): Promise<CallsFixture> {
  const f = await openLedgerFixture(kind);
  await migrateSchema(
    f.db.client,
    schemaOf([pipelineManifest, conversationsManifest, callsManifest]),
  );
  const accessLog = new CollectedAccessRecords();
  const access = new AccessPolicy(loadRolePolicy(ROLES_FILE), accessLog);
  const client = f.db.client;
  const snapshots = SqlConversationSnapshots.create(client, f.newLedger().dataKeys, {
    clock: f.clock,
  });
  const runner = new CommandRunner(f.ledger, access, { ids: uuidV7Generator });
  const commands = new ConversationCommands(
    runner,
    new ConversationStates(f.ledger, snapshots),
    snapshots,
    { clock: f.clock, ids: uuidV7Generator },
  );
  const processor = ProjectionProcessor.create(client, f.ledger, {
    restartDelayMs: 20,
    maxRestartDelayMs: 200,
  });
  ConversationProjections.register(processor);
  CallProjections.register(processor);
  processor.start();
  const memberships = new SqlConversationMemberships(client);
  const services: CallService[] = [];

  return {
    ledgerFixture: f,
    accessLog,
    processor,
    async newNode(sfu, options = {}, iceServers) {
      const dataKeys = new DataKeys(
        f.provider,
        f.keyStore,
        new DataKeyCache({ maxKeys: 100, maxAgeMs: 60_000, maxUses: 1_000_000 }),
        { maxEventsPerDataKey: 1_000 },
      );
      const relay = SqlCallSignalRelay.create(client, dataKeys, {
        clock: f.clock,
        ids: uuidV7Generator,
        ttlMs: 30_000,
        log: { warn: () => undefined },
      });
      const states = new CallStates(f.ledger);
      const log = { warn: () => undefined, error: () => undefined };
      const service = new CallService(
        new CommandRunner(f.ledger, access, { ids: uuidV7Generator }),
        states,
        new SqlCallReads(client),
        new SqlCallConnections(client),
        access,
        accessLog,
        memberships,
        iceServers ?? {
          forMember: (tenantId, userId) => ({
            iceServers: [
              {
                urls: ['turn:127.0.0.1:3478'],
                username: `x:${tenantId}:${userId}`,
                credential: 'c',
              },
            ],
            expiresAt: new Date(f.clock.now().getTime() + 600_000),
          }),
        },
        relay,
        new CallFanOut(f.ledger, f.store, states, log),
        sfu,
        {
          clock: f.clock,
          ringTimeoutMs: RING_MS,
          graceMs: GRACE_MS,
          maxParticipants: 4,
          sweepIntervalMs: 0,
          maxSdpBytes: 4_096,
          iceRateLimit: { points: 5, windowMs: 60_000 },
          log,
          catchUp: async () => {
            const head = await f.store.headPosition();
            if (head) await processor.waitFor(head, { timeoutMs: 30_000 });
          },
          ...options,
        },
      );
      await service.start();
      await service.whenLive(30_000);
      services.push(service);
      return service;
    },
    async conversation(owner, others) {
      const conversationId = `c${randomUUID().slice(0, 8)}`;
      const result = await commands.execute(owner, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title: 'Care team',
          members: others.map((id) => ({ id, kind: 'user' as const, role: 'member' as const })),
        },
      });
      await processor.waitFor(result.position!);
      return conversationId;
    },
    async settled() {
      const head = await f.store.headPosition();
      if (head) await processor.waitFor(head, { timeoutMs: 60_000 });
    },
    async close() {
      for (const s of services) await s.stop();
      await processor.stop();
      await f.close();
    },
  };
}

/** A fresh tenant and its cast. */
export function newTenant(tenantId = `t${randomUUID().slice(0, 8)}`) {
  const principal = (id: string, roles: readonly string[] = ['user']): Principal => ({
    kind: 'user',
    id,
    tenantId,
    roles,
    origin: { transport: 'realtime', clientAddress: '192.0.2.10' },
  });
  return {
    tenantId,
    alice: principal('alice'),
    bob: principal('bob'),
    carol: principal('carol'),
    mallory: principal('mallory'),
    /** Roles that allow joining but not speaking. */
    listener: principal('lena', ['agent']),
  };
}

/** Collects what a watcher is handed, and waits for it. */
export class Collected<T> {
  readonly items: T[] = [];
  readonly push = (item: T) => {
    this.items.push(item);
  };

  async until(predicate: (items: readonly T[]) => boolean, what: string): Promise<readonly T[]> {
    const deadline = Date.now() + 60_000;
    while (!predicate(this.items)) {
      if (Date.now() > deadline) throw new Error(`${what}: never happened`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.items;
  }
}
