import type { SqlExecutor } from '@ledgerline/database';
import type { PushEnvironment, PushPlatform } from '../domain/push.events';
import type {
  DeviceView,
  MuteView,
  PushSettingsReads,
} from '../application/push-settings-reads.port';

/** PushSettingsReads over `ll_push_devices`, `ll_push_dnd` and `ll_push_mutes`. */
export class SqlPushSettingsReads implements PushSettingsReads {
  constructor(private readonly db: SqlExecutor) {}

  async devices(tenantId: string, userId: string): Promise<DeviceView[]> {
    const rows = await this.db.query<{
      device_id: string;
      platform: PushPlatform;
      environment: PushEnvironment;
      app_id: string;
      registered_at: Date;
    }>(
      `select device_id::text as device_id, platform, environment, app_id, registered_at
       from ll_push_devices where tenant_id = $1 and user_id = $2
       order by registered_at, device_id`,
      [tenantId, userId],
    );
    return rows.map((r) => ({
      deviceId: r.device_id,
      platform: r.platform,
      environment: r.environment,
      appId: r.app_id,
      registeredAt: r.registered_at,
    }));
  }

  async doNotDisturb(
    tenantId: string,
    userId: string,
    now: Date,
  ): Promise<{ readonly until: Date | null } | undefined> {
    const [dnd] = await this.db.query<{ until: Date | null }>(
      `select until from ll_push_dnd where tenant_id = $1 and user_id = $2
         and (until is null or until > $3)`,
      [tenantId, userId, now],
    );
    return dnd;
  }

  async mutes(tenantId: string, userId: string, now: Date, limit: number): Promise<MuteView[]> {
    const mutes = await this.db.query<{ conversation_id: string; until: Date | null }>(
      `select conversation_id, until from ll_push_mutes
       where tenant_id = $1 and user_id = $2 and (until is null or until > $3)
       order by conversation_id limit $4`,
      [tenantId, userId, now, limit],
    );
    return mutes.map((m) => ({ conversationId: m.conversation_id, until: m.until }));
  }

  async mutedConversationIds(
    tenantId: string,
    userId: string,
    now: Date,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.db.query<{ conversation_id: string }>(
      `select conversation_id from ll_push_mutes
       where tenant_id = $1 and user_id = $2 and (until is null or until > $3)
       limit $4`,
      [tenantId, userId, now, limit],
    );
    return rows.map((r) => r.conversation_id);
  }
}
