import type { SqlExecutor } from '@ledgerline/database';
import {
  accessActorOf,
  type AccessAction,
  type AccessOutcome,
  type AccessPolicy,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import { START_POSITION, type GlobalPosition } from '@ledgerline/kernel';
import type { AuditLogRow } from '../projection/audit-log-row';
import { decodeAuditCursor, encodeAuditCursor, type AuditCursor } from './audit-cursor';
import {
  AuditPageSizeError,
  InvalidAuditCursorError,
  InvalidAuditFilterError,
  InvalidTimeRangeError,
} from './auditor.errors';

/** One access event as an auditor sees it: the audit log's row and its paging cursor. */
export interface AuditEntry extends Omit<AuditLogRow, 'tenantId'> {
  readonly cursor: string;
}

/** A page of the audit log, in `$all` order (oldest first). */
export interface AuditPage {
  readonly items: readonly AuditEntry[];
  /** More rows match after this page, in the read's snapshot (see AuditorQueries). */
  readonly hasMore: boolean;
  /** The last item's cursor: pass as `after` for the next page. */
  readonly endCursor: string | undefined;
}

export interface AuditPageRequest {
  /** The time of the access, from (inclusive) … */
  readonly from: Date;
  /** … to (exclusive). */
  readonly to: Date;
  readonly first?: number;
  /** A cursor from a previous page (`endCursor`). */
  readonly after?: string;
}

export interface AuditSearch extends AuditPageRequest {
  /** Who acted (a user, agent, API key or operator id). */
  readonly actorId?: string;
  /** Whose data it was. */
  readonly subjectUserId?: string;
  readonly action?: AccessAction;
  readonly conversationId?: string;
}

export interface AuditorQueriesOptions {
  /** The access actions of the composed libs (AccessCatalogue): a search naming another is refused. */
  readonly knownActions: ReadonlySet<string>;
  /** Largest page a caller may ask for; above it, AuditPageSizeError. */
  readonly maxPageSize?: number;
  readonly defaultPageSize?: number;
  /**
   * Awaited before the first page of every read: resolves once the audit log holds everything
   * committed to the event log when the read began (the module waits for the projection to reach
   * the log's head), so an answer never silently misses a recent access. Rejects (retryable) when
   * it cannot.
   */
  readonly upToDate?: () => Promise<void>;
}

/**
 * The accesses the accounting of disclosures lists: reads of a user's PHI by members and services
 * (every action named `phi.*`, whichever lib records it), and an auditor's views of it (a
 * conversation's full history, a replay).
 */
export const DISCLOSURE_ACTION_PREFIX = 'phi.';
export const AUDITOR_DISCLOSURE_ACTIONS: readonly AccessAction[] = [
  'audit.conversation_history.read',
  'audit.replayed',
];

export function isDisclosure(action: string): boolean {
  return (
    action.startsWith(DISCLOSURE_ACTION_PREFIX) ||
    (AUDITOR_DISCLOSURE_ACTIONS as readonly string[]).includes(action)
  );
}

interface Row {
  event_id: string;
  commit_position: string;
  prepare_position: string;
  stream_revision: string;
  at: Date;
  recorded_at: Date;
  actor_id: string;
  actor_kind: string;
  actor_roles: string[];
  actor_credential_id: string | null;
  action: string;
  outcome: AccessOutcome;
  reason: string | null;
  permission: string | null;
  operation: string | null;
  conversation_id: string | null;
  resource_type: string | null;
  target_ids: string[];
  subject_user_ids: string[];
  origin_node: string | null;
  origin_transport: string | null;
  origin_client_address: string | null;
  origin_user_agent: string | null;
  origin_device_id: string | null;
}

const COLUMNS = `l.event_id, l.commit_position::text as commit_position,
  l.prepare_position::text as prepare_position, l.stream_revision::text as stream_revision, l.at,
  l.recorded_at, l.actor_id, l.actor_kind, l.actor_roles, l.actor_credential_id, l.action, l.outcome,
  l.reason, l.permission, l.conversation_id, l.resource_type, l.target_ids, l.subject_user_ids,
  l.origin_node, l.origin_transport, l.origin_client_address, l.origin_user_agent, l.origin_device_id, l.operation`;

/** Printable, no spaces, at most 256 characters: what any id Ledgerline records looks like. */
const ID = /^[!-~]{1,256}$/;

interface ParsedPage {
  readonly from: Date;
  readonly to: Date;
  readonly limit: number;
  readonly cursor: AuditCursor | undefined;
}

/**
 * The auditor's reads of the audit log (role `auditor`, permission `audit.read`), always within
 * the auditor's own tenant. Each is itself an access event, recorded before it is answered (fail
 * closed: no answer when the record cannot be written).
 *
 * Consistency. A read's first page first waits until the audit log holds everything committed
 * to the event log when it began (`upToDate`), then fixes a snapshot: the last position of the
 * tenant's audit log at that moment. It and every later page of it (its cursors carry the
 * snapshot) show only rows up to that position, in position order, so paging neither skips nor
 * repeats a row and nothing appears behind the reader.
 *
 * An auditor's own records: each page is recorded after its rows were read, so its record lies
 * beyond the snapshot. No page of a read ever lists the records of that read, however its filter
 * is set; the next read (without a cursor) lists them, like any other access. Recording is not
 * itself a read of the audit log, so it triggers nothing further: there is no loop.
 */
export class AuditorQueries {
  private readonly maxPageSize: number;
  private readonly defaultPageSize: number;
  private readonly upToDate: () => Promise<void>;
  private readonly knownActions: ReadonlySet<string>;

  constructor(
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly recorder: AccessRecorder,
    private readonly db: SqlExecutor,
    options: AuditorQueriesOptions,
  ) {
    this.maxPageSize = options.maxPageSize ?? 100;
    this.defaultPageSize = Math.min(options.defaultPageSize ?? 50, this.maxPageSize);
    this.upToDate = options.upToDate ?? (() => Promise.resolve());
    this.knownActions = options.knownActions;
  }

  /** Access events by time range and any of actor, subject user, action and conversation. */
  async search(principal: Principal, search: AuditSearch): Promise<AuditPage> {
    await this.authorize(principal);
    const page = this.parsePage(search);
    const actorId = optionalId(search.actorId, 'actorId');
    const subjectUserId = optionalId(search.subjectUserId, 'subjectUserId');
    const conversationId = optionalId(search.conversationId, 'conversationId');
    if (search.action !== undefined && !this.knownActions.has(search.action)) {
      throw new InvalidAuditFilterError('action');
    }

    const params: unknown[] = [principal.tenantId, page.from, page.to];
    const param = (value: unknown) => `$${params.push(value)}`;
    // Driven by the subjects table when a subject is named (its index is (tenant, subject, at)).
    const source =
      subjectUserId === undefined
        ? 'll_audit_log l'
        : `ll_audit_log_subjects s join ll_audit_log l on l.event_id = s.event_id`;
    const t = subjectUserId === undefined ? 'l' : 's';
    const where = [`${t}.tenant_id = $1`, `${t}.at >= $2`, `${t}.at < $3`];
    if (subjectUserId !== undefined) where.push(`s.subject_user_id = ${param(subjectUserId)}`);
    if (actorId !== undefined) where.push(`l.actor_id = ${param(actorId)}`);
    if (search.action !== undefined) where.push(`l.action = ${param(search.action)}`);
    if (conversationId !== undefined) where.push(`l.conversation_id = ${param(conversationId)}`);
    const result = await this.read(principal.tenantId, source, t, where, params, page);

    await this.recorder.record({
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action: 'audit.searched',
      outcome: 'allowed',
      resourceType: 'audit_log',
      ...(conversationId === undefined ? {} : { conversationId }),
      targetIds: result.items.map((i) => i.eventId),
      subjectUserIds: subjectUserId === undefined ? [] : [subjectUserId],
      ...(principal.origin ? { origin: principal.origin } : {}),
    });
    return result;
  }

  /**
   * The accounting of disclosures for one user: every access to their PHI by someone else (see
   * isDisclosure) that was allowed, with who, when, why (the action, and the permission
   * checked) and from where. The user's own reads are not disclosures; refused and failed attempts
   * disclosed nothing and are in `search`.
   */
  async disclosures(
    principal: Principal,
    subjectUserId: string,
    request: AuditPageRequest,
  ): Promise<AuditPage> {
    await this.authorize(principal);
    const page = this.parsePage(request);
    const subject = optionalId(subjectUserId, 'subjectUserId');
    if (subject === undefined) throw new InvalidAuditFilterError('subjectUserId');

    const params: unknown[] = [
      principal.tenantId,
      page.from,
      page.to,
      subject,
      AUDITOR_DISCLOSURE_ACTIONS,
      `${DISCLOSURE_ACTION_PREFIX}%`,
    ];
    const where = [
      's.tenant_id = $1',
      's.at >= $2',
      's.at < $3',
      's.subject_user_id = $4',
      '(l.action = any($5::text[]) or l.action like $6)',
      `l.outcome = 'allowed'`,
      `not (l.actor_kind = 'user' and l.actor_id = $4)`,
    ];
    const result = await this.read(
      principal.tenantId,
      'll_audit_log_subjects s join ll_audit_log l on l.event_id = s.event_id',
      's',
      where,
      params,
      page,
    );

    await this.recorder.record({
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action: 'audit.disclosures.read',
      outcome: 'allowed',
      resourceType: 'audit_log',
      targetIds: result.items.map((i) => i.eventId),
      subjectUserIds: [subject],
      ...(principal.origin ? { origin: principal.origin } : {}),
    });
    return result;
  }

  private async authorize(principal: Principal): Promise<void> {
    await this.access.check(principal, 'audit.read', {
      tenantId: principal.tenantId,
      type: 'audit_log',
    });
  }

  /**
   * One page by position, within the read's snapshot. `where` and `params` hold the filters
   * (`$1` the tenant); `t` is the table whose columns the time and position conditions use.
   */
  private async read(
    tenantId: string,
    source: string,
    t: 'l' | 's',
    where: string[],
    params: unknown[],
    page: ParsedPage,
  ): Promise<AuditPage> {
    const asOf = page.cursor?.asOf ?? (await this.snapshot(tenantId));
    const position = `(${t}.commit_position, ${t}.prepare_position)`;
    const bound = (p: GlobalPosition) =>
      `($${params.push(p.commit.toString())}::numeric, $${params.push(p.prepare.toString())}::bigint)`;
    where.push(`${position} <= ${bound(asOf)}`);
    if (page.cursor) where.push(`${position} > ${bound(page.cursor.after)}`);
    const limit = `$${params.push(page.limit + 1)}`;
    const rows = await this.db.query<Row>(
      `select ${COLUMNS} from ${source}
       where ${where.join(' and ')}
       order by ${t}.commit_position, ${t}.prepare_position
       limit ${limit}`,
      params,
    );
    const hasMore = rows.length > page.limit;
    const items = rows.slice(0, page.limit).map((row) => entryOf(row, asOf));
    return { items, hasMore, endCursor: items[items.length - 1]?.cursor };
  }

  /** The last position of the tenant's audit log, once it holds all that was committed. */
  private async snapshot(tenantId: string): Promise<GlobalPosition> {
    await this.upToDate();
    const [last] = await this.db.query<{ commit_position: string; prepare_position: string }>(
      // Qualified: the text aliases would otherwise order as text.
      `select l.commit_position::text as commit_position, l.prepare_position::text as prepare_position
       from ll_audit_log l where l.tenant_id = $1
       order by l.commit_position desc, l.prepare_position desc limit 1`,
      [tenantId],
    );
    return last
      ? { commit: BigInt(last.commit_position), prepare: BigInt(last.prepare_position) }
      : START_POSITION;
  }

  private parsePage(request: AuditPageRequest): ParsedPage {
    const { from, to } = request;
    if (!(from instanceof Date) || Number.isNaN(from.getTime())) {
      throw new InvalidTimeRangeError('from');
    }
    if (!(to instanceof Date) || Number.isNaN(to.getTime()) || to <= from) {
      throw new InvalidTimeRangeError('to');
    }
    const first = request.first ?? this.defaultPageSize;
    if (!Number.isInteger(first) || first < 1 || first > this.maxPageSize) {
      throw new AuditPageSizeError(this.maxPageSize);
    }
    let cursor: AuditCursor | undefined;
    if (request.after !== undefined) {
      cursor = decodeAuditCursor(request.after);
      if (!cursor) throw new InvalidAuditCursorError();
    }
    return { from, to, limit: first, cursor };
  }
}

function optionalId(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (!ID.test(value)) throw new InvalidAuditFilterError(field);
  return value;
}

function entryOf(r: Row, asOf: GlobalPosition): AuditEntry {
  const position = { commit: BigInt(r.commit_position), prepare: BigInt(r.prepare_position) };
  return {
    eventId: r.event_id,
    position,
    cursor: encodeAuditCursor({ after: position, asOf }),
    streamRevision: BigInt(r.stream_revision),
    at: r.at,
    recordedAt: r.recorded_at,
    actor: {
      id: r.actor_id,
      kind: r.actor_kind as AuditEntry['actor']['kind'],
      roles: r.actor_roles,
      ...(r.actor_credential_id === null ? {} : { credentialId: r.actor_credential_id }),
    },
    action: r.action,
    outcome: r.outcome,
    reason: r.reason ?? undefined,
    permission: r.permission ?? undefined,
    operation: r.operation ?? undefined,
    conversationId: r.conversation_id ?? undefined,
    resourceType: r.resource_type ?? undefined,
    targetIds: r.target_ids,
    subjectUserIds: r.subject_user_ids,
    origin:
      r.origin_node === null || r.origin_transport === null
        ? undefined
        : {
            node: r.origin_node,
            transport: r.origin_transport as NonNullable<AuditEntry['origin']>['transport'],
            ...(r.origin_client_address === null ? {} : { clientAddress: r.origin_client_address }),
            ...(r.origin_user_agent === null ? {} : { userAgent: r.origin_user_agent }),
            ...(r.origin_device_id === null ? {} : { deviceId: r.origin_device_id }),
          },
  };
}
