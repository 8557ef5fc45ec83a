import type { SqlExecutor } from '@ledgerline/database';
import type { AccessPolicy, Principal } from '@ledgerline/identity';
import type { Clock } from '@ledgerline/kernel';
import type { PushEnvironment, PushPlatform } from '../domain/push.events';
import { PushForServicesRefusedError } from './push.errors';

/** A device as its owner sees it. The token is never shown again once registered. */
export interface DeviceView {
  readonly deviceId: string;
  readonly platform: PushPlatform;
  readonly environment: PushEnvironment;
  readonly appId: string;
  readonly registeredAt: Date;
}

export interface MuteView {
  readonly conversationId: string;
  /** Null: muted for good. */
  readonly until: Date | null;
}

export interface PushSettingsView {
  /** Do not disturb is on now. */
  readonly doNotDisturb: boolean;
  /** When it ends; null while it is on until cleared, or when it is off. */
  readonly doNotDisturbUntil: Date | null;
  /** Conversations muted now. */
  readonly mutes: readonly MuteView[];
}

/** Most mutes a settings read returns (the decider caps a user's mutes at the same order). */
const MAX_MUTES_LISTED = 1_000;

/**
 * The calling user's devices and preferences, from the push read models. Each read needs
 * `push.manage`; a user sees only their own (the principal is the only key).
 */
export class PushQueries {
  constructor(
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly db: SqlExecutor,
    private readonly clock: Clock,
  ) {}

  async devices(principal: Principal): Promise<DeviceView[]> {
    await this.check(principal);
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
      [principal.tenantId, principal.id],
    );
    return rows.map((r) => ({
      deviceId: r.device_id,
      platform: r.platform,
      environment: r.environment,
      appId: r.app_id,
      registeredAt: r.registered_at,
    }));
  }

  async settings(principal: Principal): Promise<PushSettingsView> {
    await this.check(principal);
    const now = this.clock.now();
    const [dnd] = await this.db.query<{ until: Date | null }>(
      `select until from ll_push_dnd where tenant_id = $1 and user_id = $2
         and (until is null or until > $3)`,
      [principal.tenantId, principal.id, now],
    );
    const mutes = await this.db.query<{ conversation_id: string; until: Date | null }>(
      `select conversation_id, until from ll_push_mutes
       where tenant_id = $1 and user_id = $2 and (until is null or until > $3)
       order by conversation_id limit $4`,
      [principal.tenantId, principal.id, now, MAX_MUTES_LISTED],
    );
    return {
      doNotDisturb: dnd !== undefined,
      doNotDisturbUntil: dnd?.until ?? null,
      mutes: mutes.map((m) => ({ conversationId: m.conversation_id, until: m.until })),
    };
  }

  /**
   * The conversations the user has muted now (at most as many as a user may mute): what GraphQL's
   * `Conversation.muted` shows. No permission of its own: the caller is reading their conversations.
   */
  async mutedConversations(tenantId: string, userId: string): Promise<ReadonlySet<string>> {
    const rows = await this.db.query<{ conversation_id: string }>(
      `select conversation_id from ll_push_mutes
       where tenant_id = $1 and user_id = $2 and (until is null or until > $3)
       limit $4`,
      [tenantId, userId, this.clock.now(), MAX_MUTES_LISTED],
    );
    return new Set(rows.map((r) => r.conversation_id));
  }

  private async check(principal: Principal): Promise<void> {
    if (principal.kind === 'service') throw new PushForServicesRefusedError();
    await this.access.check(principal, 'push.manage', {
      tenantId: principal.tenantId,
      type: 'push_settings',
    });
  }
}
