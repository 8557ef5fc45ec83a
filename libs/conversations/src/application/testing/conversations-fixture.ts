import { CommandRunner } from '@ledgerline/pipeline';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataKeyCache, DataKeyStore, DataKeys, LocalKeyRing } from '@ledgerline/crypto';
import { cryptoManifest } from '@ledgerline/crypto/manifest';
import { eventStoreManifest } from '@ledgerline/event-store/manifest';
import { pipelineManifest } from '@ledgerline/pipeline/manifest';
import {
  SqlEventStore,
  type AppendOptions,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
} from '@ledgerline/event-store';
import { AccessPolicy, loadRolePolicy, type Principal } from '@ledgerline/identity';
import {
  DEFAULT_EVENT_STORE_LIMITS,
  ManualClock,
  uuidV7Generator,
  type EventToAppend,
} from '@ledgerline/kernel';
import { KeyLifecycle, Ledger, type IntegrityError } from '@ledgerline/ledger';
import {
  CollectedAccessRecords,
  openTestDatabase,
  type TestDatabase,
  type TestDatabaseKind,
} from '@ledgerline/testing';
import {
  ConversationProjections,
  type ConversationProjectionsOptions,
} from '../../projections/conversation-projections';
import {
  ConversationCommands,
  type ConversationCommandsOptions,
} from '../conversation-commands.handler';
import { conversationsManifest } from '../../manifest';
import { SqlConversationSnapshots } from '../../adapters/sql-conversation-snapshots.adapter';
import { ConversationStates } from '../conversation-states';
import { ConversationQueries } from '../queries/conversation-queries.handler';
import type { ConversationReadModels } from '../queries/conversation-read-models.port';
import { sqlConversationReadModels } from '../../adapters/sql-conversation-read-models.adapter';

// The checked-in roles file, as the server loads it.
const ROLES_FILE = join(__dirname, '../../../../../policies/roles.yaml');

/** The event store as it is, counting what stream reads return: proves catch-up reads only the new. */
export class CountingEventStore implements EventStore {
  streamReads = 0;
  eventsRead = 0;
  constructor(private readonly inner: EventStore) {}
  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
    options?: AppendOptions,
  ) {
    return this.inner.appendToStream(streamId, events, expected, options);
  }
  async readStream(streamId: string, options?: ReadStreamOptions) {
    const events = await this.inner.readStream(streamId, options);
    this.streamReads += 1;
    this.eventsRead += events.length;
    return events;
  }
  streamRevision(streamId: string) {
    return this.inner.streamRevision(streamId);
  }
  readAll(options?: ReadAllOptions) {
    return this.inner.readAll(options);
  }
  headPosition() {
    return this.inner.headPosition();
  }
  subscribeToAll(options: SubscribeOptions) {
    return this.inner.subscribeToAll(options);
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return Promise.resolve();
  }
}

/** One "process": its own ledger (and data-key cache), state cache and command handler. */
export interface CommandsInstance {
  readonly commands: ConversationCommands;
  readonly states: ConversationStates;
  readonly store: CountingEventStore;
  readonly ledger: Ledger;
}

export interface ConversationsFixture {
  readonly db: TestDatabase;
  readonly clock: ManualClock;
  readonly store: SqlEventStore;
  readonly dataKeys: DataKeys;
  readonly ledger: Ledger;
  readonly lifecycle: KeyLifecycle;
  readonly accessLog: CollectedAccessRecords;
  readonly access: AccessPolicy;
  readonly alarms: IntegrityError[];
  readonly snapshotProblems: string[];
  /** The read models over `db`, as the module wires them. */
  readonly readModels: ConversationReadModels;
  /** A command handler as a fresh process would have it (empty caches). */
  newCommands(
    options?: Partial<ConversationCommandsOptions> & { readonly maxAttempts?: number },
  ): Promise<CommandsInstance>;
  newQueries(): ConversationQueries;
  newProjections(options?: ConversationProjectionsOptions): Promise<ConversationProjections>;
  close(): Promise<void>;
}

/** The whole conversations stack on a real database, ledger, key ring and roles file. */
export async function openConversationsFixture(
  kind: TestDatabaseKind,
): Promise<ConversationsFixture> {
  const db = await openTestDatabase(kind, [
    eventStoreManifest,
    cryptoManifest,
    pipelineManifest,
    conversationsManifest,
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'll-conversations-'));
  const clock = new ManualClock('2026-11-25T10:00:00.000Z');
  const store = SqlEventStore.create(db.client, {
    limits: DEFAULT_EVENT_STORE_LIMITS,
    clock,
    pollIntervalMs: 50,
  });
  const keyStore = DataKeyStore.create(db.client);
  const { ring } = await LocalKeyRing.open({
    file: join(dir, 'keyring.json'),
    masterSecret: randomBytes(32).toString('base64'),
    createIfMissing: true,
    scrypt: { N: 2 ** 10, r: 8, p: 1 },
  });
  const alarms: IntegrityError[] = [];
  const snapshotProblems: string[] = [];
  const newDataKeys = () =>
    new DataKeys(
      ring,
      keyStore,
      new DataKeyCache({ maxKeys: 100, maxAgeMs: 60_000, maxUses: 1e6 }),
      {
        maxEventsPerDataKey: 1_000,
      },
    );
  const newLedger = (eventStore: EventStore, dataKeys: DataKeys) =>
    new Ledger(eventStore, dataKeys, { clock, onIntegrityFailure: (e) => alarms.push(e) });
  const dataKeys = newDataKeys();
  const ledger = newLedger(store, dataKeys);
  const accessLog = new CollectedAccessRecords();
  const access = new AccessPolicy(loadRolePolicy(ROLES_FILE), accessLog);
  const projections: ConversationProjections[] = [];
  const readModels = sqlConversationReadModels(db.client);

  return {
    db,
    readModels,
    clock,
    store,
    dataKeys,
    ledger,
    lifecycle: new KeyLifecycle(ledger, ring, keyStore, dataKeys, uuidV7Generator),
    accessLog,
    access,
    alarms,
    snapshotProblems,
    async newCommands(options = {}) {
      const counting = new CountingEventStore(store);
      const keys = newDataKeys();
      const instanceLedger = newLedger(counting, keys);
      const snapshots = SqlConversationSnapshots.create(db.client, keys, {
        clock,
        onProblem: (streamId, problem) => snapshotProblems.push(`${streamId}:${problem}`),
      });
      const states = new ConversationStates(instanceLedger, snapshots);
      const runner = new CommandRunner(instanceLedger, access, {
        ids: uuidV7Generator,
        maxAttempts: options.maxAttempts,
      });
      const commands = new ConversationCommands(runner, states, snapshots, {
        clock,
        ids: uuidV7Generator,
        ...options,
      });
      return { commands, states, store: counting, ledger: instanceLedger };
    },
    newQueries() {
      return new ConversationQueries(access, accessLog, readModels, ledger, { maxPageSize: 50 });
    },
    async newProjections(options = {}) {
      const p = ConversationProjections.create(db.client, ledger, {
        restartDelayMs: 20,
        maxRestartDelayMs: 200,
        ...options,
      });
      projections.push(p);
      return p;
    },
    async close() {
      for (const p of projections) await p.stop();
      await store.close();
      await ring.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh tenant with the cast every test uses. */
export function newTenant() {
  const tenantId = `t${randomUUID().slice(0, 8)}`;
  const user = (id: string, roles = ['user']): Principal => ({
    kind: 'user',
    id,
    tenantId,
    roles,
  });
  return {
    tenantId,
    alice: user('alice'),
    bob: user('bob'),
    carol: user('carol'),
    dave: user('dave'),
    mallory: user('mallory'),
    auditor: user('audrey', ['auditor']),
    bot: { kind: 'agent', id: 'triage-bot', tenantId, roles: ['agent'] } as Principal,
    backend: { kind: 'service', id: 'svc-backend', tenantId, roles: ['service'] } as Principal,
    conversationId: () => randomUUID(),
  };
}
