import { AuditConversationHistoryResolver, AuditLogResolver } from '@ledgerline/audit';
import { CallResolver, ConversationCallsResolver } from '@ledgerline/calls';
import {
  ConversationEventsResolver,
  ConversationResolver,
  EmergencyAccessResolver,
  MemberResolver,
  MessageResolver,
  ReactionResolver,
  ReceiptResolver,
} from '@ledgerline/conversations';
// libs/files
import { FileResolver } from '@ledgerline/files';
import { PresenceResolver } from '@ledgerline/presence';
import { ConversationMutedResolver, PushResolver } from '@ledgerline/push';
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
  // libs/audit item 8: break-glass grants.
  EmergencyAccessResolver,
  // libs/push
  PushResolver,
  ConversationMutedResolver,
  // libs/files
  FileResolver,
  CallResolver, // libs/calls
  ConversationCallsResolver, // libs/calls
];
