import type { AccessPolicy, Principal } from '@ledgerline/identity';
import type { Clock } from '@ledgerline/kernel';
import { PushForServicesRefusedError } from './push.errors';
import type { DeviceView, MuteView, PushSettingsReads } from './push-settings-reads.port';

export type { DeviceView, MuteView } from './push-settings-reads.port';

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
    private readonly reads: PushSettingsReads,
    private readonly clock: Clock,
  ) {}

  async devices(principal: Principal): Promise<DeviceView[]> {
    await this.check(principal);
    return this.reads.devices(principal.tenantId, principal.id);
  }

  async settings(principal: Principal): Promise<PushSettingsView> {
    await this.check(principal);
    const now = this.clock.now();
    const dnd = await this.reads.doNotDisturb(principal.tenantId, principal.id, now);
    const mutes = await this.reads.mutes(principal.tenantId, principal.id, now, MAX_MUTES_LISTED);
    return {
      doNotDisturb: dnd !== undefined,
      doNotDisturbUntil: dnd?.until ?? null,
      mutes,
    };
  }

  /**
   * The conversations the user has muted now (at most as many as a user may mute): what GraphQL's
   * `Conversation.muted` shows. No permission of its own: the caller is reading their conversations.
   */
  async mutedConversations(tenantId: string, userId: string): Promise<ReadonlySet<string>> {
    const ids = await this.reads.mutedConversationIds(
      tenantId,
      userId,
      this.clock.now(),
      MAX_MUTES_LISTED,
    );
    return new Set(ids);
  }

  private async check(principal: Principal): Promise<void> {
    if (principal.kind === 'service') throw new PushForServicesRefusedError();
    await this.access.check(principal, 'push.manage', {
      tenantId: principal.tenantId,
      type: 'push_settings',
    });
  }
}
