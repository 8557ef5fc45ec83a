import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ConversationCommands } from '../application/conversation-commands.handler';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { ConversationProjections } from '../projections/conversation-projections';
import { ConversationAck, MessageArgs } from './conversation-api.dto';
import { ConversationErrorFilter } from './conversation-api.errors';
import { reactionRequest } from './conversation-requests';
import { toAck, toReactions } from './conversation-views';
import { MessageReactions, ReactionInput } from './reaction.dto';
import { readYourWrites } from './read-your-writes';

/** Reactions: who put which emoji on a message; adding and removing one's own. */
@Resolver(() => MessageReactions)
@UseFilters(ConversationErrorFilter)
export class ReactionResolver {
  constructor(
    @Inject(ConversationCommands) private readonly commands: ConversationCommands,
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationProjections) private readonly projections: ConversationProjections,
  ) {}

  @Query(() => MessageReactions, { description: 'The reactions on a message, by emoji.' })
  async reactions(
    @CurrentPrincipal() principal: Principal,
    @Args() args: MessageArgs,
  ): Promise<MessageReactions> {
    await readYourWrites(this.projections, args.minPosition);
    return toReactions(
      await this.queries.reactions(principal, args.conversationId, args.messageId),
    );
  }

  @Mutation(() => ConversationAck, { description: 'Puts an emoji on a message (once).' })
  async addReaction(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ReactionInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, reactionRequest(input, 'add'));
    return toAck(result);
  }

  @Mutation(() => ConversationAck, { description: 'Takes the caller’s emoji off a message.' })
  async removeReaction(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ReactionInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, reactionRequest(input, 'remove'));
    return toAck(result);
  }
}
