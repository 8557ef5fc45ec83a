import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ConversationCommands } from '../application/conversation-commands.handler';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { ConversationProjections } from '../projections/conversation-projections';
import { ConversationAck, ConversationArgs, MessageArgs } from './conversation-api.dto';
import { ConversationErrorFilter } from './conversation-api.errors';
import { markDeliveredRequest, markReadRequest } from './conversation-requests';
import { toAck, toConversationReceipts, toMessageReceipts } from './conversation-views';
import { readYourWrites } from './read-your-writes';
import {
  ConversationReceipts,
  MarkDeliveredInput,
  MarkReadInput,
  MessageReceipts,
} from './receipt.dto';

/** Receipts: delivery (per device) and read (per member) marks; moving the caller's own. */
@Resolver()
@UseFilters(ConversationErrorFilter)
export class ReceiptResolver {
  constructor(
    @Inject(ConversationCommands) private readonly commands: ConversationCommands,
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationProjections) private readonly projections: ConversationProjections,
  ) {}

  @Query(() => ConversationReceipts, { description: 'Every receipt mark of a conversation.' })
  async receipts(
    @CurrentPrincipal() principal: Principal,
    @Args() args: ConversationArgs,
  ): Promise<ConversationReceipts> {
    await readYourWrites(this.projections, args.minPosition);
    const receipts = await this.queries.receipts(principal, args.conversationId);
    return toConversationReceipts(args.conversationId, receipts);
  }

  @Query(() => MessageReceipts, {
    description: 'The devices a message was delivered to and the members who read it.',
  })
  async messageReceipts(
    @CurrentPrincipal() principal: Principal,
    @Args() args: MessageArgs,
  ): Promise<MessageReceipts> {
    await readYourWrites(this.projections, args.minPosition);
    return toMessageReceipts(
      await this.queries.messageReceipts(principal, args.conversationId, args.messageId),
    );
  }

  @Mutation(() => ConversationAck, {
    description: 'Marks every message up to this one delivered to a device of the caller’s.',
  })
  async markDelivered(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: MarkDeliveredInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, markDeliveredRequest(input));
    return toAck(result);
  }

  @Mutation(() => ConversationAck, {
    description:
      'Marks every message up to this one read by the caller (marks only move forwards).',
  })
  async markRead(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: MarkReadInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, markReadRequest(input));
    return toAck(result);
  }
}
