import type { AccessActor, AccessOutcome, RequestOrigin } from '@ledgerline/identity';
import { LedgerlineError, type GlobalPosition } from '@ledgerline/kernel';
import type { OpenedEvent } from '@ledgerline/ledger';
import { ACCESS_RECORDED, parseAccessRecorded } from '../access/access-recorded.event';
import { auditStreamId } from '../audit-stream';

/** The event type the first access recorder wrote for denials, before `AccessRecorded` took over. */
export const LEGACY_ACCESS_DENIED = 'AccessDenied';

/** One row of the audit log: an access event, flattened. Ids, codes and times only. */
export interface AuditLogRow {
  readonly eventId: string;
  readonly tenantId: string;
  readonly position: GlobalPosition;
  readonly streamRevision: bigint;
  /** When the access happened. */
  readonly at: Date;
  /** When its event was appended. */
  readonly recordedAt: Date;
  readonly actor: AccessActor;
  /** An action the composed libs declare when written by this build; kept as stored otherwise. */
  readonly action: string;
  readonly outcome: AccessOutcome;
  readonly reason: string | undefined;
  readonly permission: string | undefined;
  /** The request that was refused or done (`messages`, `editHistory`…), when the record names one. */
  readonly operation: string | undefined;
  readonly conversationId: string | undefined;
  readonly resourceType: string | undefined;
  readonly targetIds: readonly string[];
  readonly subjectUserIds: readonly string[];
  /** Unknown for the legacy `AccessDenied` events, which did not record it. */
  readonly origin: (RequestOrigin & { readonly node: string }) | undefined;
}

/** Why an event of an audit stream gives no row. */
export type SkipReason =
  /** Its data key was shredded (retention): nothing it said can be read any more. */
  | 'shredded'
  /** A type this build does not project (written by a newer build, or not an access event). */
  | 'unknown_type'
  /** On a stream that only looks like an audit stream (the prefix filter is coarse). */
  | 'not_an_audit_stream';

export type AuditLogEntryOf =
  | { readonly kind: 'row'; readonly row: AuditLogRow }
  | { readonly kind: 'skip'; readonly reason: SkipReason };

/**
 * An access event this build should read but cannot: a writer's bug. It stops the projection
 * (which retries with backoff and reports it) rather than leave a silent hole in the audit log.
 * Names the event by position and type only.
 */
export class UnreadableAccessEventError extends LedgerlineError {
  readonly code = 'unreadable_access_event';
  constructor(
    readonly eventId: string,
    readonly type: string,
    readonly schemaVersion: number,
    readonly problem: 'unknown_version' | 'malformed_payload',
  ) {
    super(`access event ${eventId} (${type} v${schemaVersion}): ${problem}`);
  }
}

const OUTCOMES: ReadonlySet<string> = new Set(['allowed', 'denied', 'failed']);
const ACTOR_KINDS: ReadonlySet<string> = new Set([
  'user',
  'service',
  'agent',
  'operator',
  'anonymous',
] satisfies AccessActor['kind'][]);

/** What the audit log holds for one event of `$all` under the `audit:` prefix. */
export function auditLogEntryOf(opened: OpenedEvent): AuditLogEntryOf {
  if (opened.streamId !== auditStreamId(opened.tenantId)) {
    return { kind: 'skip', reason: 'not_an_audit_stream' };
  }
  if (opened.type !== ACCESS_RECORDED && opened.type !== LEGACY_ACCESS_DENIED) {
    return { kind: 'skip', reason: 'unknown_type' };
  }
  if (opened.schemaVersion !== 1) throw unreadable(opened, 'unknown_version');
  if (opened.body.status === 'shredded') return { kind: 'skip', reason: 'shredded' };
  const row =
    opened.type === ACCESS_RECORDED
      ? fromAccessRecorded(opened, opened.body.payload)
      : fromLegacyAccessDenied(opened, opened.body.payload);
  if (!row) throw unreadable(opened, 'malformed_payload');
  return { kind: 'row', row };
}

function fromAccessRecorded(opened: OpenedEvent, payload: Buffer): AuditLogRow | undefined {
  const v = parseAccessRecorded(payload);
  if (!v) return undefined;
  const at = new Date(v.at);
  if (
    Number.isNaN(at.getTime()) ||
    !isActor(v.actor) ||
    !OUTCOMES.has(v.outcome) ||
    !isStringArray(v.targetIds) ||
    !isStringArray(v.subjectUserIds) ||
    !isOrigin(v.origin) ||
    !optionalStrings(v.reason, v.permission, v.operation, v.conversationId, v.resourceType)
  ) {
    return undefined;
  }
  return {
    ...header(opened),
    at,
    actor: v.actor,
    action: v.action,
    outcome: v.outcome,
    reason: v.reason,
    permission: v.permission,
    operation: v.operation,
    conversationId: v.conversationId,
    resourceType: v.resourceType,
    targetIds: v.targetIds,
    subjectUserIds: v.subjectUserIds,
    origin: v.origin,
  };
}

/** `AccessDenied` v1: `{ principal, permission, denial, resource? }`, no origin, no access time. */
function fromLegacyAccessDenied(opened: OpenedEvent, payload: Buffer): AuditLogRow | undefined {
  const v = parseJson(payload) as {
    principal?: unknown;
    permission?: unknown;
    denial?: unknown;
    resource?: { tenantId?: unknown; type?: unknown; id?: unknown } | null;
  };
  if (
    typeof v !== 'object' ||
    v === null ||
    !isActor(v.principal) ||
    typeof v.permission !== 'string' ||
    typeof v.denial !== 'string'
  ) {
    return undefined;
  }
  const resource = typeof v.resource === 'object' && v.resource !== null ? v.resource : undefined;
  // As the recorder that replaced it does: another tenant's ids stay out of this tenant's log.
  const ownTenant = resource?.tenantId === opened.tenantId;
  const type = typeof resource?.type === 'string' ? resource.type : undefined;
  const id = ownTenant && typeof resource?.id === 'string' ? resource.id : undefined;
  const isConversation = type === 'conversation' && id !== undefined;
  return {
    ...header(opened),
    at: opened.recordedAt,
    actor: v.principal,
    action: 'access.denied',
    outcome: 'denied',
    reason: v.denial,
    permission: v.permission,
    operation: undefined,
    conversationId: isConversation ? id : undefined,
    resourceType: isConversation ? undefined : type,
    targetIds: id === undefined ? [] : [id],
    subjectUserIds: [],
    origin: undefined,
  };
}

function header(opened: OpenedEvent) {
  return {
    eventId: opened.eventId,
    tenantId: opened.tenantId,
    position: opened.position,
    streamRevision: opened.revision,
    recordedAt: opened.recordedAt,
  };
}

function unreadable(
  opened: OpenedEvent,
  problem: UnreadableAccessEventError['problem'],
): UnreadableAccessEventError {
  return new UnreadableAccessEventError(opened.eventId, opened.type, opened.schemaVersion, problem);
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function optionalStrings(...values: unknown[]): boolean {
  return values.every((v) => v === undefined || typeof v === 'string');
}

function isActor(value: unknown): value is AccessActor {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  return (
    typeof a['id'] === 'string' &&
    typeof a['kind'] === 'string' &&
    ACTOR_KINDS.has(a['kind']) &&
    isStringArray(a['roles']) &&
    optionalStrings(a['credentialId'])
  );
}

function isOrigin(value: unknown): value is RequestOrigin & { readonly node: string } {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  return (
    typeof o['node'] === 'string' &&
    typeof o['transport'] === 'string' &&
    optionalStrings(o['clientAddress'], o['userAgent'], o['deviceId'])
  );
}
