import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { CallRealtimeOperations } from '@ledgerline/calls';
import {
  ConversationLiveEvents,
  ConversationRealtimeFeed,
  ConversationRealtimeOperations,
} from '@ledgerline/conversations';
import { PresenceService, TypingIndicators } from '@ledgerline/presence';
import {
  REALTIME_CHANNELS,
  REALTIME_FEED,
  REALTIME_OPERATIONS,
  REALTIME_PRESENCE,
  REALTIME_TYPING,
  type RealtimeChannel,
  type RealtimeOperation,
  type RealtimePresence,
  type RealtimeTyping,
} from '@ledgerline/realtime';

/**
 * What the realtime gateway serves, from the domain libs: the conversation operations and feed,
 * presence and typing. The process's one conversation fan-out (ConversationLiveEvents) is here
 * too: the GraphQL subscriptions share it.
 */
export const realtimeProviders: Provider[] = [
  ConversationLiveEvents,
  ConversationRealtimeOperations,
  ConversationRealtimeFeed,
  CallRealtimeOperations, // libs/calls
  {
    provide: REALTIME_OPERATIONS,
    inject: [ConversationRealtimeOperations, CallRealtimeOperations],
    useFactory: (
      conversations: ConversationRealtimeOperations,
      calls: CallRealtimeOperations,
    ): RealtimeOperation[] => [...conversations.operations, ...calls.operations],
  },
  // libs/calls: pushes of call state and signals to each connection.
  {
    provide: REALTIME_CHANNELS,
    inject: [CallRealtimeOperations],
    useFactory: (calls: CallRealtimeOperations): RealtimeChannel[] => [calls],
  },
  { provide: REALTIME_FEED, useExisting: ConversationRealtimeFeed },
  {
    provide: REALTIME_PRESENCE,
    inject: [PresenceService],
    useFactory: (presence: PresenceService): RealtimePresence => presence,
  },
  {
    provide: REALTIME_TYPING,
    inject: [TypingIndicators],
    useFactory: (typing: TypingIndicators): RealtimeTyping => typing,
  },
];

/** The tokens RealtimeModule takes from the app. */
export const realtimeExports = [
  REALTIME_OPERATIONS,
  REALTIME_CHANNELS,
  REALTIME_FEED,
  REALTIME_PRESENCE,
  REALTIME_TYPING,
] as const;

/**
 * What the realtime gateway serves, as one module: RealtimeModule imports it, and so does the app
 * (its GraphQL subscriptions share ConversationLiveEvents). `conversations` is the app's
 * ConversationsModule, the same instance it imports; calls and presence are global.
 */
@Module({})
export class RealtimeBindingsModule {
  static forRoot(conversations: DynamicModule): DynamicModule {
    return {
      module: RealtimeBindingsModule,
      imports: [conversations],
      providers: realtimeProviders,
      exports: [...realtimeExports, ConversationLiveEvents],
    };
  }
}
