import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ConversationCommands } from '../application/conversation-commands.handler';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { ConversationProjections } from '../projections/conversation-projections';
import { CONVERSATION_API_DEFAULT_PAGE_SIZE, pagedCost } from './conversation-api.config';
import { ConversationAck, MessageArgs, PageArgs } from './conversation-api.dto';
import { ConversationErrorFilter, toEdgeError } from './conversation-api.errors';
import {
  editMessageRequest,
  redactMessageRequest,
  sendMessageRequest,
} from './conversation-requests';
import { toAck, toEditHistory, toMessagePage, toSendAck, toThread } from './conversation-views';
import {
  EditHistory,
  EditMessageInput,
  Message,
  MessagePage,
  MessagesArgs,
  RedactMessageInput,
  SendMessageAck,
  SendMessageInput,
  Thread,
  ThreadArgs,
} from './message.dto';
import { readYourWrites } from './read-your-writes';

/** Messages: history pages, threads, edit history; sending, editing and redacting. */
@Resolver(() => Message)
@UseFilters(ConversationErrorFilter)
export class MessageResolver {
  constructor(
    @Inject(ConversationCommands) private readonly commands: ConversationCommands,
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationProjections) private readonly projections: ConversationProjections,
  ) {}

  @Query(() => MessagePage, {
    description:
      'A page of a conversation’s messages (replies included) by cursor; with neither `after` nor `before`, the newest.',
    complexity: pagedCost,
  })
  async messages(
    @CurrentPrincipal() principal: Principal,
    @Args() args: MessagesArgs,
  ): Promise<MessagePage> {
    await readYourWrites(this.projections, args.minPosition);
    const page = await this.queries.messages(principal, args.conversationId, pageOf(args));
    return toMessagePage(args.conversationId, page);
  }

  @Query(() => Thread, {
    description: 'A thread: its root message and a page of its replies.',
    complexity: pagedCost,
  })
  async thread(
    @CurrentPrincipal() principal: Principal,
    @Args() args: ThreadArgs,
  ): Promise<Thread> {
    await readYourWrites(this.projections, args.minPosition);
    const thread = await this.queries.thread(
      principal,
      args.conversationId,
      args.rootMessageId,
      pageOf(args),
    );
    return toThread(args.conversationId, thread);
  }

  @Query(() => EditHistory, {
    description: 'Every version of a message, oldest first (none once redacted).',
  })
  async editHistory(
    @CurrentPrincipal() principal: Principal,
    @Args() args: MessageArgs,
  ): Promise<EditHistory> {
    await readYourWrites(this.projections, args.minPosition);
    const history = await this.queries.editHistory(principal, args.conversationId, args.messageId);
    return toEditHistory(history);
  }

  @ResolveField(() => MessagePage, {
    description: 'The replies of a thread’s root message (empty for a reply).',
    complexity: pagedCost,
  })
  async replies(
    @CurrentPrincipal() principal: Principal,
    @Parent() message: Message,
    @Args() args: PageArgs,
  ): Promise<MessagePage> {
    if (message.threadRootId !== null || message.replyCount === 0) {
      return { items: [], hasMore: false, startCursor: null, endCursor: null };
    }
    try {
      const thread = await this.queries.thread(
        principal,
        message.conversationId,
        message.id,
        pageOf(args),
      );
      return toThread(message.conversationId, thread).replies;
    } catch (error) {
      throw toEdgeError(error, principal); // field resolvers get no exception filter
    }
  }

  @Mutation(() => SendMessageAck, {
    description:
      'Sends a message (a reply with `threadRootId`). Acknowledged once durably appended; a retry with the same `clientMessageId` answers the original message.',
  })
  async sendMessage(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: SendMessageInput,
  ): Promise<SendMessageAck> {
    const result = await this.commands.execute(principal, sendMessageRequest(input));
    return toSendAck(result, input.clientMessageId);
  }

  @Mutation(() => ConversationAck, { description: 'Replaces the text of the caller’s message.' })
  async editMessage(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: EditMessageInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, editMessageRequest(input));
    return toAck(result);
  }

  @Mutation(() => ConversationAck, {
    description:
      'Removes a message’s content from every read: the author’s own, or anyone’s by a moderator or owner (with a reason).',
  })
  async redactMessage(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RedactMessageInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, redactMessageRequest(input));
    return toAck(result);
  }
}

function pageOf(args: PageArgs): { limit: number; after?: string; before?: string } {
  return {
    limit: args.first ?? CONVERSATION_API_DEFAULT_PAGE_SIZE,
    // GraphQL passes an explicit null for an argument given as null.
    ...(args.after == null ? {} : { after: args.after }),
    ...(args.before == null ? {} : { before: args.before }),
  };
}
