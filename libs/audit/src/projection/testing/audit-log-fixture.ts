import { join } from 'node:path';
import { SqlCheckpointStore } from '@ledgerline/event-store';
import {
  AccessPolicy,
  loadRolePolicy,
  type AccessRecord,
  type AccessRecorder,
  type Principal,
  IDENTITY_ACCESS_ACTIONS,
} from '@ledgerline/identity';
import { migrateSchema } from '@ledgerline/database';
import { schemaOf, uuidV7Generator } from '@ledgerline/kernel';
import { pipelineManifest } from '@ledgerline/pipeline/manifest';
import { openLedgerFixture, type LedgerFixture, type TestDatabaseKind } from '@ledgerline/testing';
import { AUDIT_ACCESS_ACTIONS, auditManifest } from '../../manifest';
import { LedgerAccessRecorder } from '../../access/ledger-access-recorder';
import { AuditorQueries, type AuditorQueriesOptions } from '../../auditor/auditor-queries.handler';
import type { SkipReason } from '../audit-log-row';
import { AuditLogProjection } from '../audit-log.projection';

// The checked-in roles file, as the server loads it.
const ROLES_FILE = join(__dirname, '../../../../../policies/roles.yaml');

/** The audit log on a real ledger and database: the real recorder, projection and policy. */
export interface AuditLogFixture {
  readonly f: LedgerFixture;
  readonly checkpoints: SqlCheckpointStore;
  readonly projection: AuditLogProjection;
  /** Appends `AccessRecorded` events through the ledger, as the server does. */
  readonly recorder: LedgerAccessRecorder;
  /** The roles file's policy, recording its denials through `recorder`. */
  readonly access: AccessPolicy;
  readonly errors: unknown[];
  readonly skipped: { eventId: string; type: string; reason: SkipReason }[];
  /** Auditor queries that wait for the projection to reach the log's head before each read. */
  queries(options?: Partial<AuditorQueriesOptions> & { recorder?: AccessRecorder }): AuditorQueries;
  /** Resolves once the projection has handled everything committed so far. */
  caughtUp(): Promise<void>;
  /** Every row of both audit log tables, as JSON text, in a stable order. */
  dump(): Promise<{ log: string[]; subjects: string[] }>;
  /** Runs SQL with the append-only triggers off: an attacker with the table owner's rights. */
  tamper(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The access actions a server composing these libs knows: identity's, the audit log's own, and the
 * PHI reads these tests record (conversations declares them; this lib does not depend on it).
 */
const KNOWN_ACTIONS: ReadonlySet<string> = new Set([
  ...IDENTITY_ACCESS_ACTIONS,
  ...AUDIT_ACCESS_ACTIONS,
  'phi.history.read',
  'phi.message.read',
  'phi.thread.read',
  'phi.edit_history.read',
]);

export async function openAuditLogFixture(kind: TestDatabaseKind): Promise<AuditLogFixture> {
  const f = await openLedgerFixture(kind);
  f.clock.set('2026-05-04T09:00:00.000Z');
  await migrateSchema(f.db.client, schemaOf([pipelineManifest, auditManifest]));
  const checkpoints = SqlCheckpointStore.create(f.db.client);
  const errors: unknown[] = [];
  const skipped: AuditLogFixture['skipped'] = [];
  const projection = AuditLogProjection.create(f.db.client, f.ledger, {
    restartDelayMs: 20,
    maxRestartDelayMs: 200,
    batchMax: 3,
    log: { warn: () => undefined, error: (fields) => errors.push(fields) },
    onSkipped: (event) => skipped.push(event),
  });
  const recorder = new LedgerAccessRecorder(f.ledger, {
    node: 'node-test',
    clock: f.clock,
    ids: uuidV7Generator,
  });
  const access = new AccessPolicy(loadRolePolicy(ROLES_FILE), recorder);
  // On PostgreSQL an event shows in `$all` once no older transaction in the cluster is open, and
  // other test workers share the cluster: waits are generous, and never asserted on.
  const caughtUp = async () =>
    projection.waitFor(await f.store.headPosition(), { timeoutMs: 30_000 });
  return {
    f,
    checkpoints,
    projection,
    recorder,
    access,
    errors,
    skipped,
    queries: (options = {}) =>
      new AuditorQueries(access, options.recorder ?? recorder, f.db.client, {
        knownActions: KNOWN_ACTIONS,
        upToDate: caughtUp,
        ...options,
      }),
    caughtUp,
    async dump() {
      const log = await f.db.client.query<{ r: string }>(
        'select row_to_json(t)::text as r from ll_audit_log t order by commit_position, prepare_position',
      );
      const subjects = await f.db.client.query<{ r: string }>(
        'select row_to_json(t)::text as r from ll_audit_log_subjects t order by event_id, subject_user_id',
      );
      return { log: log.map((x) => x.r), subjects: subjects.map((x) => x.r) };
    },
    async tamper(sql, params = []) {
      await f.db.client.transaction(async (tx) => {
        await tx.query('alter table ll_audit_log disable trigger user');
        await tx.query('alter table ll_audit_log_subjects disable trigger user');
        await tx.query(sql, params);
        await tx.query('alter table ll_audit_log enable trigger user');
        await tx.query('alter table ll_audit_log_subjects enable trigger user');
      });
    },
    async close() {
      await projection.stop();
      await recorder.drain();
      await f.close();
    },
  };
}

/** A principal as the GraphQL edge makes it, with where the request came from. */
export function principal(
  tenantId: string,
  id: string,
  roles: readonly string[],
  extra: Partial<Principal> = {},
): Principal {
  return {
    kind: 'user',
    id,
    tenantId,
    roles,
    origin: {
      transport: 'http',
      clientAddress: '10.1.2.3',
      userAgent: 'audit-test/1.0',
      deviceId: `dev-${id}`,
    },
    ...extra,
  };
}

/** A PHI read by `actor` of `subjects`' data in a conversation, as a history page records it. */
export function phiRead(
  tenantId: string,
  actor: string,
  subjects: readonly string[],
  conversationId: string,
  targetIds: readonly string[] = [],
): AccessRecord {
  return {
    tenantId,
    actor: { id: actor, kind: 'user', roles: ['user'] },
    action: 'phi.history.read',
    outcome: 'allowed',
    conversationId,
    targetIds,
    subjectUserIds: subjects,
    origin: { transport: 'graphql-ws', clientAddress: '192.0.2.7', userAgent: 'app/2.1' },
  };
}
