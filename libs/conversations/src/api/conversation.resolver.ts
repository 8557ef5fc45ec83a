import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ID_GENERATOR, type IdGenerator } from '@ledgerline/kernel';
import { ConversationCommands } from '../application/conversation-commands.handler';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { InvalidConversationInput } from '../domain/conversation.errors';
import type { Participant } from '../domain/conversation.events';
import { directConversationId } from '../domain/stream-ids';
import { ConversationProjections } from '../projections/conversation-projections';
import { CONVERSATION_API_DEFAULT_PAGE_SIZE, pagedCost } from './conversation-api.config';
import { ConversationAck, ConversationInput } from './conversation-api.dto';
import { ConversationErrorFilter } from './conversation-api.errors';
import { toAck, toConversationPage } from './conversation-views';
import {
  Conversation,
  ConversationPage,
  ConversationsArgs,
  CreateDirectConversationInput,
  CreateGroupConversationInput,
  RenameConversationInput,
} from './conversation.dto';
import { readYourWrites } from './read-your-writes';

/** Conversations: the caller's list; creating, renaming, archiving and leaving them. */
@Resolver(() => Conversation)
@UseFilters(ConversationErrorFilter)
export class ConversationResolver {
  constructor(
    @Inject(ConversationCommands) private readonly commands: ConversationCommands,
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationProjections) private readonly projections: ConversationProjections,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  @Query(() => ConversationPage, {
    description: 'The caller’s conversations, most recently active first.',
    complexity: pagedCost,
  })
  async conversations(
    @CurrentPrincipal() principal: Principal,
    @Args() args: ConversationsArgs,
  ): Promise<ConversationPage> {
    await readYourWrites(this.projections, args.minPosition);
    const page = await this.queries.listConversations(principal, {
      limit: args.first ?? CONVERSATION_API_DEFAULT_PAGE_SIZE,
      before: args.before ?? undefined,
      archived: args.archived ?? undefined,
    });
    return toConversationPage(page);
  }

  @Mutation(() => ConversationAck, {
    description:
      'Opens the direct conversation of two members; its id follows from the pair, so a second call returns the same one.',
  })
  async createDirectConversation(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: CreateDirectConversationInput,
  ): Promise<ConversationAck> {
    const [a, b] = participantsOf(principal, input);
    const conversationId = directConversationId(principal.tenantId, a.id, b.id);
    const result = await this.commands.execute(principal, {
      type: 'CreateDirectConversation',
      data: { conversationId, participants: [a, b] },
    });
    return toAck(result);
  }

  @Mutation(() => ConversationAck, {
    description: 'Creates a group conversation; the caller becomes an owner.',
  })
  async createGroupConversation(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: CreateGroupConversationInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'CreateGroupConversation',
      data: {
        conversationId: input.conversationId ?? this.ids.next(),
        title: input.title,
        members: input.members.map((m) => ({ id: m.id, kind: m.kind, role: m.role })),
      },
    });
    return toAck(result);
  }

  @Mutation(() => ConversationAck, { description: 'Renames a group (moderators and owners).' })
  async renameConversation(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RenameConversationInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'RenameConversation',
      data: { conversationId: input.conversationId, title: input.title },
    });
    return toAck(result);
  }

  @Mutation(() => ConversationAck, {
    description: 'Archives a conversation: no new content until it is unarchived.',
  })
  async archiveConversation(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ConversationInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'ArchiveConversation',
      data: { conversationId: input.conversationId },
    });
    return toAck(result);
  }

  @Mutation(() => ConversationAck)
  async unarchiveConversation(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ConversationInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'UnarchiveConversation',
      data: { conversationId: input.conversationId },
    });
    return toAck(result);
  }

  @Mutation(() => ConversationAck, {
    description: 'The caller leaves a group (the last owner cannot).',
  })
  async leaveConversation(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ConversationInput,
  ): Promise<ConversationAck> {
    const result = await this.commands.execute(principal, {
      type: 'LeaveConversation',
      data: { conversationId: input.conversationId },
    });
    return toAck(result);
  }
}

/** The pair: the caller and the one named, or (for a service) the two named. */
function participantsOf(
  principal: Principal,
  input: CreateDirectConversationInput,
): [Participant, Participant] {
  const named = input.participants.map((p): Participant => ({ id: p.id, kind: p.kind }));
  if (named.length === 2) return [named[0]!, named[1]!];
  if (principal.kind === 'service') {
    // A service never takes part: it names both members.
    throw new InvalidConversationInput('participants', 'required');
  }
  return [{ id: principal.id, kind: principal.kind }, named[0]!];
}
