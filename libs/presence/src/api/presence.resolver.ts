import { Inject, Logger, UseFilters } from '@nestjs/common';
import { Args, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal, createSubscriptionIterator } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { PresenceService } from '../application/presence-service';
import type { PresenceChange, TypingSignal } from '../application/presence-views';
import { TypingIndicators } from '../application/typing-indicators';
import { PresenceErrorFilter } from './presence-api.errors';
import {
  PresenceArgs,
  PresenceDto,
  SendTypingArgs,
  SetPresenceArgs,
  TypingArgs,
  TypingSignalDto,
  toPresenceDto,
  toTypingSignalDto,
} from './presence.dto';

/** How long a new subscription waits for the presence feed to be live (only ever at start-up). */
const LIVE_WAIT_MS = 10_000;

/**
 * Presence and typing over GraphQL: a user's presence, saying away and back, sending a typing
 * indicator, and live changes of both over graphql-ws. The same PresenceService and
 * TypingIndicators the realtime protocol uses.
 */
@Resolver()
@UseFilters(PresenceErrorFilter)
export class PresenceResolver {
  private readonly logger = new Logger('PresenceResolver');

  constructor(
    @Inject(PresenceService) private readonly presenceService: PresenceService,
    @Inject(TypingIndicators) private readonly typingIndicators: TypingIndicators,
  ) {}

  @Query(() => PresenceDto, {
    description:
      'A user’s presence: the caller’s own, or of a user they share a conversation with (NOT_FOUND, reason presence_not_visible, for anyone else, whether or not they exist).',
  })
  async presence(
    @CurrentPrincipal() principal: Principal,
    @Args() args: PresenceArgs,
  ): Promise<PresenceDto> {
    return toPresenceDto(await this.presenceService.presenceOf(principal, args.userId));
  }

  @Mutation(() => PresenceDto, {
    description:
      'Says the caller is away, or back. Needs a live realtime connection (CONFLICT, reason not_connected, otherwise). Answers the caller’s presence.',
  })
  async setPresence(
    @CurrentPrincipal() principal: Principal,
    @Args() args: SetPresenceArgs,
  ): Promise<PresenceDto> {
    await this.presenceService.setStatus(principal, args.status);
    return toPresenceDto(await this.presenceService.presenceOf(principal, principal.id));
  }

  @Mutation(() => TypingSignalDto, {
    description:
      'Tells the conversation’s members the caller is typing, until `expiresAt`. Never stored; RATE_LIMITED (with retryAfterMs) when sent too often.',
  })
  async sendTyping(
    @CurrentPrincipal() principal: Principal,
    @Args() args: SendTypingArgs,
  ): Promise<TypingSignalDto> {
    return toTypingSignalDto(await this.typingIndicators.typing(principal, args.conversationId));
  }

  @Subscription(() => PresenceDto, {
    description:
      'Presence changes, live, of the users the caller may see (their own included), from the moment of subscribing.',
    resolve: (change: PresenceChange) => toPresenceDto(change),
  })
  async presenceChanged(
    @CurrentPrincipal() principal: Principal,
  ): Promise<AsyncIterableIterator<PresenceChange>> {
    await this.presenceService.authorizeWatch(principal);
    await this.presenceService.whenLive(LIVE_WAIT_MS);
    return createSubscriptionIterator<PresenceChange>(
      (push) => this.presenceService.watch(principal, push),
      {
        onOverflow: () =>
          this.logger.warn({
            msg: 'presence subscriber fell behind; ended',
            subscriberId: principal.id,
          }),
      },
    );
  }

  @Subscription(() => TypingSignalDto, {
    description:
      'Typing indicators, live, in the caller’s conversations (or one of them), the caller’s own included.',
    resolve: (signal: TypingSignal) => toTypingSignalDto(signal),
  })
  async typing(
    @CurrentPrincipal() principal: Principal,
    @Args() args: TypingArgs,
  ): Promise<AsyncIterableIterator<TypingSignal>> {
    const conversationId = args.conversationId ?? undefined;
    await this.typingIndicators.authorizeWatch(principal, conversationId);
    await this.typingIndicators.start();
    return createSubscriptionIterator<TypingSignal>(
      (push) =>
        this.typingIndicators.watch(principal, (signal) => {
          if (conversationId === undefined || signal.conversationId === conversationId)
            push(signal);
        }),
      {
        onOverflow: () =>
          this.logger.warn({
            msg: 'typing subscriber fell behind; ended',
            subscriberId: principal.id,
          }),
      },
    );
  }
}
