import { type SqlClient, type SqlExecutor } from '@ledgerline/database';
import { GroupCommit, type PendingItem } from '@ledgerline/kernel';
import type { PresenceSubjectKind } from '../domain/presence.events';
import type {
  ConnectionObservation,
  ConnectionRef,
  ConnectionSubject,
  PresenceConnections,
} from '../application/presence-connections.port';

interface SubjectRow {
  tenant_id: string;
  user_id: string;
  user_kind: PresenceSubjectKind;
}

const subjectOf = (r: SubjectRow): ConnectionSubject => ({
  tenantId: r.tenant_id,
  userId: r.user_id,
  userKind: r.user_kind,
});

interface Opening {
  readonly ref: ConnectionRef;
  readonly subject: ConnectionSubject;
  readonly at: Date;
}

/** Connections opened together (a crowd reconnecting) are written in one statement per group. */
const OPENS_PER_STATEMENT = 500;

/** The connection table in PostgreSQL (or PGlite): `ll_presence_connections`. */
export class SqlPresenceConnections implements PresenceConnections {
  private readonly opens: GroupCommit<Opening, void>;

  private constructor(
    private readonly db: SqlExecutor,
    maxInFlight: number,
  ) {
    this.opens = new GroupCommit((group) => this.openGroup(group), {
      maxInFlight,
      maxItems: OPENS_PER_STATEMENT,
      // Rows locked in one order, so two groups in flight cannot deadlock.
      order: (a, b) => compareRefs(a.ref, b.ref),
    });
  }

  /** The adapter over the migrated `presence` namespace. */
  static create(client: SqlClient): SqlPresenceConnections {
    return new SqlPresenceConnections(client, client.kind === 'pglite' ? 1 : 2);
  }

  open(ref: ConnectionRef, subject: ConnectionSubject, at: Date): Promise<void> {
    return this.opens.submit({ ref, subject, at });
  }

  /** One upsert for the group; a connection named twice in it is written as its later open. */
  private async openGroup(group: readonly PendingItem<Opening, void>[]): Promise<void> {
    const byRef = new Map<string, Opening>();
    for (const { item } of group)
      byRef.set(JSON.stringify([item.ref.nodeId, item.ref.connectionId]), item);
    const rows = [...byRef.values()];
    await this.db.query(
      `insert into ll_presence_connections
         (node_id, connection_id, tenant_id, user_id, user_kind, opened_at, renewed_at)
       select n, c, t, u, k, a, a
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
         as v(n, c, t, u, k, a)
       on conflict (node_id, connection_id) do update set
         tenant_id = excluded.tenant_id, user_id = excluded.user_id,
         user_kind = excluded.user_kind, renewed_at = excluded.renewed_at, closed_at = null`,
      [
        rows.map((r) => r.ref.nodeId),
        rows.map((r) => r.ref.connectionId),
        rows.map((r) => r.subject.tenantId),
        rows.map((r) => r.subject.userId),
        rows.map((r) => r.subject.userKind),
        rows.map((r) => r.at.toISOString()),
      ],
    );
    for (const pending of group) pending.resolve();
  }

  async close(ref: ConnectionRef, at: Date): Promise<ConnectionSubject | undefined> {
    const [row] = await this.db.query<SubjectRow>(
      `update ll_presence_connections set closed_at = coalesce(closed_at, $3)
       where node_id = $1 and connection_id = $2
       returning tenant_id, user_id, user_kind`,
      [ref.nodeId, ref.connectionId, at],
    );
    return row && subjectOf(row);
  }

  async observe(tenantId: string, userId: string, liveAfter: Date): Promise<ConnectionObservation> {
    const [row] = await this.db.query<{ live: string | number; last_connected_at: Date | null }>(
      `select
         count(*) filter (where closed_at is null and renewed_at > $3) as live,
         max(coalesce(closed_at, renewed_at))
           filter (where closed_at is not null or renewed_at <= $3) as last_connected_at
       from ll_presence_connections where tenant_id = $1 and user_id = $2`,
      [tenantId, userId, liveAfter],
    );
    return {
      liveConnections: Number(row?.live ?? 0),
      lastConnectedAt: row?.last_connected_at ?? undefined,
    };
  }

  async forget(tenantId: string, userId: string, liveAfter: Date, upTo: Date): Promise<void> {
    await this.db.query(
      `delete from ll_presence_connections
       where tenant_id = $1 and user_id = $2
         and (closed_at is not null or renewed_at <= $3)
         and coalesce(closed_at, renewed_at) <= $4`,
      [tenantId, userId, liveAfter, upTo],
    );
  }

  async renew(nodeId: string, at: Date): Promise<ReadonlySet<string>> {
    const rows = await this.db.query<{ connection_id: string }>(
      `update ll_presence_connections set renewed_at = $2
       where node_id = $1 and closed_at is null
       returning connection_id`,
      [nodeId, at],
    );
    return new Set(rows.map((r) => r.connection_id));
  }

  async closeNode(nodeId: string, at: Date | 'last_renewal'): Promise<void> {
    await this.db.query(
      `update ll_presence_connections set closed_at = coalesce($2, renewed_at)
       where node_id = $1 and closed_at is null`,
      [nodeId, at === 'last_renewal' ? null : at],
    );
  }

  async dueForOffline(
    liveAfter: Date,
    seenBefore: Date,
    limit: number,
  ): Promise<readonly ConnectionSubject[]> {
    const rows = await this.db.query<SubjectRow>(
      `select tenant_id, user_id, min(user_kind) as user_kind
       from ll_presence_connections
       group by tenant_id, user_id
       having bool_and(closed_at is not null or renewed_at <= $1)
          and max(coalesce(closed_at, renewed_at)) <= $2
       order by max(coalesce(closed_at, renewed_at))
       limit $3`,
      [liveAfter, seenBefore, limit],
    );
    return rows.map(subjectOf);
  }
}

function compareRefs(a: ConnectionRef, b: ConnectionRef): number {
  if (a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
  return a.connectionId < b.connectionId ? -1 : a.connectionId > b.connectionId ? 1 : 0;
}
