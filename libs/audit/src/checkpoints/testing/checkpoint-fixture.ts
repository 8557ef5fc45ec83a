import { mkdtemp, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateSchema } from '@ledgerline/database';
import { comparePositions, encodePosition, type RecordedEvent } from '@ledgerline/kernel';
import { openLedgerFixture, type LedgerFixture, type TestDatabaseKind } from '@ledgerline/testing';
import { auditManifest } from '../../manifest';
import { AuditExporter } from '../audit-exporter';
import { CheckpointJob } from '../checkpoint-job';
import { LogVerifier } from '../log-verifier';
import { MerkleLogStore } from '../merkle-log-store';
import { TreeHeadSigner } from '../signing-key';

/** A real ledger on a real database, with the checkpoint machinery and a generated signing key. */
export interface CheckpointFixture {
  readonly f: LedgerFixture;
  readonly dir: string;
  readonly signingDir: string;
  readonly log: MerkleLogStore;
  readonly signer: TreeHeadSigner;
  readonly job: CheckpointJob;
  readonly exporter: AuditExporter;
  readonly verifier: LogVerifier;
  /** Appends `count` sealed events to the stream, one per call, a minute apart. */
  append(tenantId: string, streamId: string, count: number): Promise<void>;
  /** Every event of the log, in global order, once every committed one is visible in `$all`. */
  allEvents(): Promise<RecordedEvent[]>;
  /** Runs SQL with the append-only triggers off: an attacker with database rights. */
  tamper(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

export async function openCheckpointFixture(kind: TestDatabaseKind): Promise<CheckpointFixture> {
  const f = await openLedgerFixture(kind);
  f.clock.set('2026-03-01T08:00:00.000Z');
  await migrateSchema(f.db.client, auditManifest.schema!);
  const dir = await mkdtemp(join(tmpdir(), 'll-audit-'));
  const signingDir = join(dir, 'audit-signing');
  const log = MerkleLogStore.create(f.db.client);
  const signer = await TreeHeadSigner.open({ dir: signingDir, clock: f.clock });
  // On PostgreSQL `$all` shows an event once no older transaction in the cluster is still open;
  // other test workers share the cluster, so the fixture waits for its appends to become visible
  // before a checkpoint run counts them.
  const visibleInAll = async () => {
    const head = await f.store.headPosition();
    for (let attempt = 0; attempt < 500; attempt++) {
      const last = (await allEventsOf(f)).at(-1);
      if (last && comparePositions(last.position, head) >= 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('appended events did not become visible in $all within 10 s');
  };
  return {
    f,
    dir,
    signingDir,
    log,
    signer,
    job: new CheckpointJob(f.store, log, signer, f.clock, { pageSize: 7 }),
    exporter: new AuditExporter(f.store, log, signer, f.clock),
    verifier: new LogVerifier(f.store, log, signer.certificate),
    async append(tenantId, streamId, count) {
      for (let i = 0; i < count; i++) {
        f.clock.advance(60_000);
        await f.ledger.append(
          tenantId,
          streamId,
          [
            {
              eventId: randomUUID(),
              type: 'NoteWritten',
              schemaVersion: 1,
              metadata: { actor: { id: 'u-1', kind: 'user' } },
              payload: Buffer.from(`CANARY note ${i} of ${streamId}`),
            },
          ],
          'any',
        );
      }
      await visibleInAll();
    },
    allEvents: async () => {
      await visibleInAll();
      return allEventsOf(f);
    },
    async tamper(sql, params = []) {
      await f.db.client.transaction(async (tx) => {
        await tx.query('alter table ll_events disable trigger user');
        await tx.query('alter table ll_merkle_leaves disable trigger user');
        await tx.query('alter table ll_tree_heads disable trigger user');
        await tx.query(sql, params);
        await tx.query('alter table ll_events enable trigger user');
        await tx.query('alter table ll_merkle_leaves enable trigger user');
        await tx.query('alter table ll_tree_heads enable trigger user');
      });
    },
    async close() {
      await f.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function allEventsOf(f: LedgerFixture): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let after;
  for (let more = true; more;) {
    const page = await f.store.readAll({ after, maxCount: 1_000 });
    out.push(...page.events);
    after = page.next;
    more = page.more;
  }
  return out;
}

/** `position <commit.prepare>` as the reports write it. */
export const positionOf = (e: RecordedEvent) => encodePosition(e.position);
