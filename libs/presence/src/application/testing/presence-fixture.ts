import { CommandRunner } from '@ledgerline/pipeline';
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
import { conversationsManifest } from '@ledgerline/conversations/manifest';
import { PostgresSqlClient, migrateSchema, type SqlClient } from '@ledgerline/database';
import { SqlEventStore } from '@ledgerline/event-store';
import { AccessPolicy, loadRolePolicy, type Principal } from '@ledgerline/identity';
import { DEFAULT_EVENT_STORE_LIMITS, schemaOf, uuidV7Generator } from '@ledgerline/kernel';
import { Ledger } from '@ledgerline/ledger';
import { pipelineManifest } from '@ledgerline/pipeline/manifest';
import {
  CollectedAccessRecords,
  openLedgerFixture,
  type LedgerFixture,
  type TestDatabaseKind,
} from '@ledgerline/testing';
import type { PresenceChange, TypingSignal } from '../presence-views';
import { PresenceService, type PresenceServiceOptions } from '../presence-service';
import { presenceManifest } from '../../manifest';
import { SqlPresenceConnections } from '../../adapters/sql-presence-connections.adapter';
import { PgTypingChannel } from '../../adapters/pg-typing-channel.adapter';
import { TypingIndicators, type TypingIndicatorsOptions } from '../typing-indicators';

// The checked-in roles file, as the server loads it.
const ROLES_FILE = join(__dirname, '../../../../../policies/roles.yaml');

export const GRACE_MS = 30_000;
export const LEASE_MS = 60_000;
export const TYPING_TTL_MS = 5_000;

/** One "process" on the shared database: its own client (on PostgreSQL), event store and ledger. */
export interface PresenceNode {
  readonly nodeId: string;
  readonly client: SqlClient;
  readonly store: SqlEventStore;
  readonly presence: PresenceService;
  readonly typing: TypingIndicators;
}

export interface PresenceFixture {
  readonly kind: TestDatabaseKind;
  readonly ledgerFixture: LedgerFixture;
  readonly accessLog: CollectedAccessRecords;
  readonly access: AccessPolicy;
  /** A node with offline timers off and no periodic sweep: tests move the clock and sweep. */
  newNode(
    options?: Partial<PresenceServiceOptions>,
    typing?: Partial<TypingIndicatorsOptions>,
  ): Promise<PresenceNode>;
  /** Creates a group conversation and waits until the read models show it. */
  createGroup(owner: Principal, memberIds: readonly string[]): Promise<string>;
  close(): Promise<void>;
}

export async function openPresenceFixture(kind: TestDatabaseKind): Promise<PresenceFixture> {
  const f = await openLedgerFixture(kind);
  await migrateSchema(
    f.db.client,
    schemaOf([pipelineManifest, conversationsManifest, presenceManifest]),
  );
  const accessLog = new CollectedAccessRecords();
  const access = new AccessPolicy(loadRolePolicy(ROLES_FILE), accessLog);
  const snapshots = SqlConversationSnapshots.create(f.db.client, f.newLedger().dataKeys, {
    clock: f.clock,
  });
  const commands = new ConversationCommands(
    new CommandRunner(f.ledger, access, { ids: uuidV7Generator }),
    new ConversationStates(f.ledger, snapshots),
    snapshots,
    { clock: f.clock, ids: uuidV7Generator },
  );
  const projections = ConversationProjections.create(f.db.client, f.ledger, {
    restartDelayMs: 20,
    maxRestartDelayMs: 200,
  });
  projections.start();
  const nodes: PresenceNode[] = [];
  const clients: SqlClient[] = [];

  return {
    kind,
    ledgerFixture: f,
    accessLog,
    access,
    async newNode(options = {}, typing = {}) {
      // On PostgreSQL every node has its own connections, as separate processes would.
      let client = f.db.client;
      if (kind === 'postgres') {
        client = await PostgresSqlClient.connect({ connectionString: f.db.url!, poolSize: 5 });
        clients.push(client);
      }
      const store = SqlEventStore.create(client, {
        limits: DEFAULT_EVENT_STORE_LIMITS,
        clock: f.clock,
        pollIntervalMs: 50,
      });
      const dataKeys = new DataKeys(
        f.provider,
        f.keyStore,
        new DataKeyCache({ maxKeys: 100, maxAgeMs: 60_000, maxUses: 1_000_000 }),
        { maxEventsPerDataKey: 1_000 },
      );
      const ledger = new Ledger(store, dataKeys, { clock: f.clock });
      const memberships = new SqlConversationMemberships(client);
      const nodeId = options.nodeId ?? `node-${randomUUID().slice(0, 8)}`;
      const presence = new PresenceService(
        access,
        ledger,
        store,
        SqlPresenceConnections.create(client),
        memberships,
        {
          graceMs: GRACE_MS,
          connectionLeaseMs: LEASE_MS,
          clock: f.clock,
          ids: uuidV7Generator,
          sweepIntervalMs: 0,
          offlineTimers: false,
          fanOut: { restartDelayMs: 20, maxRestartDelayMs: 200 },
          ...options,
          nodeId,
        },
      );
      const indicators = new TypingIndicators(access, memberships, new PgTypingChannel(client), {
        clock: f.clock,
        ttlMs: TYPING_TTL_MS,
        rateLimit: { points: 3, windowMs: 60_000 },
        ...typing,
      });
      await presence.start();
      await indicators.start();
      await presence.whenLive(10_000);
      const node = { nodeId, client, store, presence, typing: indicators };
      nodes.push(node);
      return node;
    },
    async createGroup(owner, memberIds) {
      const conversationId = randomUUID();
      const result = await commands.execute(owner, {
        type: 'CreateGroupConversation',
        data: {
          conversationId,
          title: 'Ward rounds',
          members: memberIds.map((id) => ({ id, kind: 'user' as const, role: 'member' as const })),
        },
      });
      await projections.waitFor(result.position!);
      return conversationId;
    },
    async close() {
      for (const node of nodes) {
        await node.typing.stop();
        await node.presence.stop();
        await node.store.close();
      }
      await projections.stop();
      for (const client of clients) await client.close();
      await f.close();
    },
  };
}

/** A fresh tenant and its cast. */
export function newTenant() {
  const tenantId = `t${randomUUID().slice(0, 8)}`;
  const principal = (
    id: string,
    kind: Principal['kind'] = 'user',
    roles: readonly string[] = [kind],
  ): Principal => ({
    kind,
    id,
    tenantId,
    roles,
  });
  return {
    tenantId,
    alice: principal('alice'),
    bob: principal('bob'),
    carol: principal('carol'),
    mallory: principal('mallory'),
    bot: principal('triage-bot', 'agent'),
    backend: principal('svc-backend', 'service'),
    auditor: principal('audrey', 'user', ['auditor']),
  };
}

/** Collects what a watcher is handed, and waits for it. */
export class Collected<T> {
  readonly items: T[] = [];
  readonly push = (item: T) => {
    this.items.push(item);
  };

  async until(predicate: (items: readonly T[]) => boolean, what: string): Promise<readonly T[]> {
    const deadline = Date.now() + 15_000;
    while (!predicate(this.items)) {
      if (Date.now() > deadline) {
        throw new Error(`${what}: never happened; got ${JSON.stringify(this.items)}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.items;
  }
}

export type CollectedChanges = Collected<PresenceChange>;
export type CollectedSignals = Collected<TypingSignal>;
