import type { SqlExecutor } from '@ledgerline/database';
import type { EventStore } from '@ledgerline/event-store';
import {
  comparePositions,
  encodePosition,
  type GlobalPosition,
  type RecordedEvent,
} from '@ledgerline/kernel';
import { IntegrityError, type Ledger } from '@ledgerline/ledger';
import { AUDIT_STREAM_PREFIX } from '../audit-stream';
import { Findings, type Finding } from '../checkpoints/verification-report';
import { auditLogEntryOf, type AuditLogRow } from './audit-log-row';
import { AUDIT_LOG_PROJECTION } from './audit-log.projection';

export interface AuditLogVerification {
  readonly ok: boolean;
  readonly failures: readonly Finding[];
  readonly notes: readonly string[];
  /** Rows of the audit log checked against their sealed access event. */
  readonly rowsChecked: number;
}

const PAGE = 1_000;

/** The columns of `ll_audit_log`, as text, in the order a finding lists them. */
const COLUMNS = [
  'event_id',
  'tenant_id',
  'stream_revision',
  'at',
  'recorded_at',
  'actor_id',
  'actor_kind',
  'actor_roles',
  'actor_credential_id',
  'action',
  'outcome',
  'reason',
  'permission',
  'operation',
  'conversation_id',
  'resource_type',
  'target_ids',
  'subject_user_ids',
  'origin_node',
  'origin_transport',
  'origin_client_address',
  'origin_user_agent',
  'origin_device_id',
] as const;
type Column = (typeof COLUMNS)[number];
type Columns = Record<Column, string | null>;

interface StoredRow extends Columns {
  commit_position: string;
  prepare_position: string;
}

/**
 * Checks the audit log read model (`ll_audit_log`, `ll_audit_log_subjects`) against the sealed
 * access events it was projected from: every row must say exactly what its event says (none
 * altered), every access event the projection has passed must have its row (none missing), and
 * every row must have its event at its position (none extra). The tables are append-only for the
 * application, but a superuser or the tables' owner can disable the triggers: this is what makes
 * such a change visible. Findings name rows by event id, tenant and position, and altered rows by
 * column names, never by values.
 *
 * The events themselves are checked against their seals and the signed tree by LogVerifier; an
 * event that fails its seal is reported there and its row is not compared here.
 */
export class AuditLogVerifier {
  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly ledger: Pick<Ledger, 'open'>,
    private readonly db: SqlExecutor,
  ) {}

  async verify(): Promise<AuditLogVerification> {
    const findings = new Findings();
    const [tables] = await this.db.query<{ log: string | null; projections: string | null }>(
      `select to_regclass('ll_audit_log')::text as log, to_regclass('ll_projections')::text as projections`,
    );
    if (!tables?.log) {
      return {
        ok: true,
        failures: [],
        notes: ['no audit log read model in this database yet: no rows to check'],
        rowsChecked: 0,
      };
    }
    const projected = tables.projections ? await this.projectedUpTo() : undefined;
    const rows = new RowCursor(this.db);
    let checked = 0;
    let notYet = 0;
    let shredded = 0;
    let unreadable = 0;
    let after: GlobalPosition | undefined;
    for (let more = true; more;) {
      const page = await this.store.readAll({ after, maxCount: PAGE });
      const audit = page.events.filter((e) => e.streamId.startsWith(AUDIT_STREAM_PREFIX));
      const subjects = await this.subjectsOf(audit.map((e) => e.eventId));
      for (const event of audit) {
        // Rows at positions no access event has: written into the table, not projected.
        for (
          let row = await rows.peek();
          row && comparePositions(positionOf(row), event.position) < 0;
          row = await rows.peek()
        ) {
          reportExtra(row, findings);
          await rows.next();
        }
        const expected = await this.expectedRow(event);
        const row = await rows.peek();
        const here =
          row && comparePositions(positionOf(row), event.position) === 0 ? row : undefined;
        if (here) await rows.next();
        if (expected === 'unreadable') {
          unreadable += 1;
          continue;
        }
        if (expected === 'shredded' || expected === 'none') {
          // A shredded event may keep the row projected before the shred: it can no longer be
          // compared. An event that gives no row must not have one.
          if (expected === 'shredded') shredded += here ? 1 : 0;
          else if (here) reportExtra(here, findings);
          continue;
        }
        if (!here) {
          if (projected && comparePositions(event.position, projected) <= 0) {
            findings.fail(
              'audit-row',
              eventName(event),
              'the sealed access event has no row in the audit log: deleted',
            );
          } else notYet += 1;
          continue;
        }
        checked += 1;
        const differ = differingColumns(here, expected);
        const stored = subjects.get(expected.eventId) ?? [];
        const want = [...new Set(expected.subjectUserIds)].sort();
        if (!sameSubjects(stored, want, expected)) differ.push('ll_audit_log_subjects');
        if (differ.length > 0) {
          findings.fail(
            'audit-row',
            rowName(here),
            `${differ.join(', ')} differ from the sealed access event: altered`,
          );
        }
      }
      after = page.next;
      more = page.more;
    }
    for (let row = await rows.peek(); row; await rows.next(), row = await rows.peek()) {
      reportExtra(row, findings);
    }
    const orphans = await this.db.query<{ event_id: string; tenant_id: string }>(
      `select distinct s.event_id, s.tenant_id from ll_audit_log_subjects s
       where not exists (select 1 from ll_audit_log l where l.event_id = s.event_id)
       order by s.event_id limit 500`,
    );
    for (const o of orphans) {
      findings.fail(
        'audit-row',
        `subjects of event ${o.event_id} (tenant ${o.tenant_id})`,
        'accounting-of-disclosures rows with no audit log row: inserted, or their row deleted',
      );
    }

    const notes = [`${checked} audit log row(s) checked against their sealed access events`];
    if (notYet > 0)
      notes.push(`${notYet} access event(s) not projected yet (after the projection's checkpoint)`);
    if (shredded > 0)
      notes.push(`${shredded} row(s) of shredded access events could not be compared`);
    if (unreadable > 0)
      notes.push(
        `${unreadable} access event(s) fail their seal (see the content findings): their rows were not compared`,
      );
    return { ok: findings.count === 0, failures: findings.all(), notes, rowsChecked: checked };
  }

  /** What the projection would have written for an event of an audit stream. */
  private async expectedRow(
    event: RecordedEvent,
  ): Promise<AuditLogRow | 'none' | 'shredded' | 'unreadable'> {
    let entry;
    try {
      entry = auditLogEntryOf(await this.ledger.open(event));
    } catch (error) {
      if (error instanceof IntegrityError) return 'unreadable';
      throw error;
    }
    if (entry.kind === 'row') return entry.row;
    return entry.reason === 'shredded' ? 'shredded' : 'none';
  }

  /** The position up to which the projection has applied the log (undefined: nothing yet). */
  private async projectedUpTo(): Promise<GlobalPosition | undefined> {
    const rows = await this.db.query<{ c: string | null; p: string | null }>(
      `select commit_position::text as c, prepare_position::text as p from ll_projections where name = $1`,
      [AUDIT_LOG_PROJECTION],
    );
    const r = rows[0];
    return r?.c == null || r.p == null ? undefined : { commit: BigInt(r.c), prepare: BigInt(r.p) };
  }

  private async subjectsOf(eventIds: readonly string[]): Promise<Map<string, SubjectRow[]>> {
    const out = new Map<string, SubjectRow[]>();
    if (eventIds.length === 0) return out;
    const rows = await this.db.query<SubjectRow>(
      `select event_id, subject_user_id, tenant_id, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at,
         commit_position::text as commit_position, prepare_position::text as prepare_position
       from ll_audit_log_subjects where event_id = any($1::text[]) order by event_id, subject_user_id`,
      [eventIds],
    );
    for (const r of rows) out.set(r.event_id, [...(out.get(r.event_id) ?? []), r]);
    return out;
  }
}

interface SubjectRow {
  event_id: string;
  subject_user_id: string;
  tenant_id: string;
  at: string;
  commit_position: string;
  prepare_position: string;
}

/** Reads `ll_audit_log` in position order, page by page. */
class RowCursor {
  private buffer: StoredRow[] = [];
  private after: GlobalPosition | undefined;
  private exhausted = false;

  constructor(private readonly db: SqlExecutor) {}

  async peek(): Promise<StoredRow | undefined> {
    if (this.buffer.length === 0 && !this.exhausted) {
      this.buffer = await this.db.query<StoredRow>(
        `select commit_position::text as commit_position, prepare_position::text as prepare_position,
           event_id, tenant_id, stream_revision::text as stream_revision,
           to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at,
           to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as recorded_at,
           actor_id, actor_kind, array_to_json(actor_roles)::text as actor_roles, actor_credential_id,
           action, outcome, reason, permission, operation, conversation_id, resource_type,
           array_to_json(target_ids)::text as target_ids,
           array_to_json(subject_user_ids)::text as subject_user_ids, origin_node, origin_transport,
           origin_client_address, origin_user_agent, origin_device_id
         from ll_audit_log
         where $1::numeric is null or (commit_position, prepare_position) > ($1::numeric, $2::bigint)
         order by commit_position, prepare_position
         limit ${PAGE}`,
        [this.after?.commit.toString() ?? null, this.after?.prepare.toString() ?? null],
      );
      if (this.buffer.length < PAGE) this.exhausted = true;
      const last = this.buffer[this.buffer.length - 1];
      if (last) this.after = positionOf(last);
    }
    return this.buffer[0];
  }

  async next(): Promise<void> {
    await this.peek();
    this.buffer.shift();
  }
}

function positionOf(row: Pick<StoredRow, 'commit_position' | 'prepare_position'>): GlobalPosition {
  return { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
}

/** The columns as the projection writes them, in the text form the cursor reads them back. */
function columnsOf(row: AuditLogRow): Columns {
  return {
    event_id: row.eventId,
    tenant_id: row.tenantId,
    stream_revision: row.streamRevision.toString(),
    at: microseconds(row.at),
    recorded_at: microseconds(row.recordedAt),
    actor_id: row.actor.id,
    actor_kind: row.actor.kind,
    actor_roles: JSON.stringify(row.actor.roles),
    actor_credential_id: row.actor.credentialId ?? null,
    action: row.action,
    outcome: row.outcome,
    reason: row.reason ?? null,
    permission: row.permission ?? null,
    operation: row.operation ?? null,
    conversation_id: row.conversationId ?? null,
    resource_type: row.resourceType ?? null,
    target_ids: JSON.stringify(row.targetIds),
    subject_user_ids: JSON.stringify(row.subjectUserIds),
    origin_node: row.origin?.node ?? null,
    origin_transport: row.origin?.transport ?? null,
    origin_client_address: row.origin?.clientAddress ?? null,
    origin_user_agent: row.origin?.userAgent ?? null,
    origin_device_id: row.origin?.deviceId ?? null,
  };
}

function differingColumns(stored: StoredRow, expected: AuditLogRow): string[] {
  const want = columnsOf(expected);
  return COLUMNS.filter((c) => {
    // Rows projected before the column existed (audit-log migration 2) hold no operation.
    if (c === 'operation' && stored.operation === null) return false;
    return normalise(stored[c]) !== normalise(want[c]);
  });
}

/** JSON arrays as PostgreSQL and PGlite print them differ only in spacing. */
function normalise(value: string | null): string | null {
  if (value === null || !value.startsWith('[')) return value;
  try {
    return JSON.stringify(JSON.parse(value));
  } catch {
    return value;
  }
}

function sameSubjects(
  stored: readonly SubjectRow[],
  want: readonly string[],
  row: AuditLogRow,
): boolean {
  if (stored.length !== want.length) return false;
  return stored.every(
    (s, i) =>
      s.subject_user_id === want[i] &&
      s.tenant_id === row.tenantId &&
      s.at === row.at.toISOString() &&
      s.commit_position === row.position.commit.toString() &&
      s.prepare_position === row.position.prepare.toString(),
  );
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as the cursor prints a timestamptz. */
function microseconds(at: Date): string {
  return `${at.toISOString().slice(0, 23)}000Z`;
}

function reportExtra(row: StoredRow, findings: Findings): void {
  findings.fail(
    'audit-row',
    rowName(row),
    'the row has no access event at its position in the log: inserted',
  );
}

function rowName(row: StoredRow): string {
  return `row of event ${row.event_id} (tenant ${row.tenant_id}, position ${encodePosition(positionOf(row))})`;
}

function eventName(event: RecordedEvent): string {
  return `access event ${event.eventId} (tenant ${event.tenantId}, position ${encodePosition(event.position)})`;
}
