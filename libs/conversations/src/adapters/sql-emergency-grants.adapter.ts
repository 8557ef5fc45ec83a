import type { SqlExecutor } from '@ledgerline/database';
import type {
  EmergencyGrant,
  EmergencyGrants,
} from '../application/emergency/emergency-grants.port';

interface GrantRow {
  grant_id: string;
  grantee_id: string;
  conversation_id: string;
  granted_by: string;
  granted_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

const COLUMNS =
  'grant_id, grantee_id, conversation_id, granted_by, granted_at, expires_at, revoked_at';

/** EmergencyGrants over `ll_emergency_grants` (migrated with the conversations' schema). */
export class SqlEmergencyGrants implements EmergencyGrants {
  constructor(private readonly db: SqlExecutor) {}

  async insert(tenantId: string, grant: EmergencyGrant): Promise<void> {
    await this.db.query(
      `insert into ll_emergency_grants
         (grant_id, tenant_id, grantee_id, conversation_id, granted_by, granted_at, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [
        grant.grantId,
        tenantId,
        grant.granteeId,
        grant.conversationId,
        grant.grantedBy,
        grant.grantedAt,
        grant.expiresAt,
      ],
    );
  }

  async revoke(tenantId: string, grantId: string, at: Date, revokedBy: string): Promise<void> {
    await this.db.query(
      `update ll_emergency_grants set revoked_at = $3, revoked_by = $4
       where tenant_id = $1 and grant_id = $2 and revoked_at is null`,
      [tenantId, grantId, at, revokedBy],
    );
  }

  async active(
    tenantId: string,
    userId: string,
    conversationId: string,
    now: Date,
  ): Promise<EmergencyGrant | undefined> {
    const [row] = await this.db.query<GrantRow>(
      `select ${COLUMNS} from ll_emergency_grants
       where tenant_id = $1 and grantee_id = $2 and conversation_id = $3
         and revoked_at is null and expires_at > $4
       order by expires_at desc limit 1`,
      [tenantId, userId, conversationId, now],
    );
    return row && toGrant(row);
  }

  async byId(tenantId: string, grantId: string): Promise<EmergencyGrant | undefined> {
    const [row] = await this.db.query<GrantRow>(
      `select ${COLUMNS} from ll_emergency_grants where tenant_id = $1 and grant_id = $2`,
      [tenantId, grantId],
    );
    return row && toGrant(row);
  }
}

function toGrant(r: GrantRow): EmergencyGrant {
  return {
    grantId: r.grant_id,
    granteeId: r.grantee_id,
    conversationId: r.conversation_id,
    grantedBy: r.granted_by,
    grantedAt: r.granted_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at ?? undefined,
  };
}
