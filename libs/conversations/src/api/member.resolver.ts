import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ConversationCommands } from '../application/conversation-commands.handler';
import { ConversationAck } from './conversation-api.dto';
import { ConversationErrorFilter } from './conversation-api.errors';
import { toAck } from './conversation-views';
import { AddMemberInput, ChangeMemberRoleInput, RemoveMemberInput } from './conversation.dto';

/** Membership of group conversations (who may do what is the decider's to say). */
@Resolver()
@UseFilters(ConversationErrorFilter)
export class MemberResolver {
  constructor(@Inject(ConversationCommands) private readonly commands: ConversationCommands) {}

  @Mutation(() => ConversationAck, {
    description: 'Adds a member (moderators add members; owners add any role).',
  })
  async addMember(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: AddMemberInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'AddMember',
      data: {
        conversationId: input.conversationId,
        member: { id: input.member.id, kind: input.member.kind },
        role: input.role,
      },
    });
    return toAck(result);
  }

  @Mutation(() => ConversationAck, {
    description: 'Removes a member (moderators remove members; owners anyone but the last owner).',
  })
  async removeMember(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RemoveMemberInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'RemoveMember',
      data: { conversationId: input.conversationId, memberId: input.memberId },
    });
    return toAck(result);
  }

  @Mutation(() => ConversationAck, { description: 'Changes a member’s role (owners).' })
  async changeMemberRole(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ChangeMemberRoleInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'ChangeMemberRole',
      data: { conversationId: input.conversationId, memberId: input.memberId, role: input.role },
    });
    return toAck(result);
  }
}
