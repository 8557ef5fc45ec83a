import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import {
  EmergencyAccess,
  type EmergencyGrant,
} from '../application/emergency/emergency-access.handler';
import { ConversationErrorFilter } from './conversation-api.errors';
import {
  EmergencyGrantView,
  GrantEmergencyAccessInput,
  RevokeEmergencyAccessInput,
} from './emergency-access.dto';

/** Break-glass access (`emergency.grant`, role admin): grant and revoke. */
@Resolver()
@UseFilters(ConversationErrorFilter)
export class EmergencyAccessResolver {
  constructor(@Inject(EmergencyAccess) private readonly emergency: EmergencyAccess) {}

  @Mutation(() => EmergencyGrantView, {
    description:
      'Grants a named person time-limited read access to a conversation they are not a member of, with a mandatory reason (`emergency.grant`). Recorded, and alerted to the tenant’s auditors, as is every read under it.',
  })
  async grantEmergencyAccess(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: GrantEmergencyAccessInput,
  ): Promise<EmergencyGrantView> {
    return toView(await this.emergency.grant(principal, input));
  }

  @Mutation(() => EmergencyGrantView, {
    description: 'Ends a break-glass grant at once (`emergency.grant`), with a mandatory reason.',
  })
  async revokeEmergencyAccess(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RevokeEmergencyAccessInput,
  ): Promise<EmergencyGrantView> {
    return toView(await this.emergency.revoke(principal, input.grantId, input.reason));
  }
}

function toView(g: EmergencyGrant): EmergencyGrantView {
  return { ...g, revokedAt: g.revokedAt ?? null };
}
