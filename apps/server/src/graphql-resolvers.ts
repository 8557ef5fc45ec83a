import { AuditLogResolver } from '@ledgerline/audit';
import { CallResolver, ConversationCallsResolver } from '@ledgerline/calls';
import {
  AuditConversationHistoryResolver,
  ConversationEventsResolver,
  ConversationResolver,
  MemberResolver,
  MessageResolver,
  ReactionResolver,
  ReceiptResolver,
} from '@ledgerline/conversations';
import { PresenceResolver } from '@ledgerline/presence';
import { IceServersResolver } from '@ledgerline/turn';

/**
 * Every GraphQL resolver the server serves, in one list: the app module registers them, and the
 * schema export (`npm run graphql:schema`) builds `schema.graphql` from the same list.
 */
export const graphqlResolvers: (new (...args: never[]) => unknown)[] = [
  ConversationResolver,
  MemberResolver,
  MessageResolver,
  ReactionResolver,
  ReceiptResolver,
  ConversationEventsResolver,
  PresenceResolver,
  AuditLogResolver,
  AuditConversationHistoryResolver,
  IceServersResolver,
  CallResolver, // libs/calls
  ConversationCallsResolver, // libs/calls
];
