export { conversationDecider, decideConversation } from './domain/conversation.decider';
export {
  evolveConversation,
  foldConversation,
  initialConversationState,
  findMessageIdByClientMessageId,
  findMember,
  type ConversationState,
  type NoConversation,
  type Conversation,
  type MessageState,
  type DeliveryMark,
} from './domain/conversation.state';
export {
  CONVERSATION_SNAPSHOT_VERSION,
  serializeConversationState,
  deserializeConversationState,
  type ConversationSnapshot,
} from './domain/conversation.snapshot';
export {
  ConversationRefusalReason,
  ConversationRefused,
  InvalidConversationInput,
  type ConversationInputProblem,
  type RefusalSubject,
} from './domain/conversation.errors';
export {
  MEMBER_ROLES,
  CONVERSATION_EVENT_VERSIONS,
  isConversationEventType,
  type ConversationActor,
  type Participant,
  type ParticipantKind,
  type Member,
  type MemberRole,
  type ConversationEventBase,
  type ConversationEvent,
  type ConversationEventType,
  type DirectConversationCreated,
  type GroupConversationCreated,
  type MemberAdded,
  type MemberRemoved,
  type MemberLeft,
  type MemberRoleChanged,
  type ConversationRenamed,
  type ConversationArchived,
  type ConversationUnarchived,
  type MessageSent,
  type MessageEdited,
  type MessageRedacted,
  type ReactionAdded,
  type ReactionRemoved,
  type MessagesDelivered,
  type MessagesRead,
} from './domain/conversation.events';
export {
  DEFAULT_CONVERSATION_LIMITS,
  type ConversationContext,
  type ConversationLimits,
  type ConversationCommandBase,
  type ConversationCommand,
  type ConversationCommandType,
  type CreateDirectConversation,
  type CreateGroupConversation,
  type AddMember,
  type RemoveMember,
  type ChangeMemberRole,
  type LeaveConversation,
  type RenameConversation,
  type ArchiveConversation,
  type UnarchiveConversation,
  type SendMessage,
  type EditMessage,
  type RedactMessage,
  type AddReaction,
  type RemoveReaction,
  type MarkDelivered,
  type MarkRead,
} from './domain/conversation.commands';
export {
  CONVERSATION_STREAM_CATEGORY,
  conversationStreamId,
  parseConversationStreamId,
  directConversationId,
} from './domain/stream-ids';
export {
  MAX_EMOJI_CHARS,
  extractMentions,
  isValidConversationId,
  isValidMemberId,
} from './domain/conversation.validation';
export {
  ConversationCommands,
  type ConversationCommandsOptions,
  type ConversationCommandResult,
  type ConversationRequest,
  type SendMessageRequest,
  type SendMessageResult,
  type ResultOf,
} from './application/conversation-commands.handler';
export { permissionFor } from './application/conversation-permissions';
export { AttachmentChecks, type AttachmentCheck } from './application/attachment-checks';
export {
  ConversationStates,
  type ConversationStatesOptions,
  type ConversationStatesStats,
  type LoadedConversation,
  type MessagePlacement,
} from './application/conversation-states';
export {
  SqlConversationSnapshots,
  type SqlConversationSnapshotsOptions,
} from './adapters/sql-conversation-snapshots.adapter';
export type {
  ConversationSnapshotStore,
  ConversationSnapshotRecord,
  SnapshotProblem,
} from './application/conversation-snapshots.port';
export {
  encodeConversationEvent,
  decodeConversationEvent,
  openConversationEvent,
  type CausalIds,
} from './application/conversation-events.codec';
export {
  ConversationShreddedError,
  ConversationBusyError,
  UnsupportedConversationEventError,
  NotAConversationMemberError,
  MessageNotFoundError,
  PageSizeError,
  InvalidCursorError,
} from './application/conversations.errors';
export {
  ConversationQueries,
  type ConversationQueriesOptions,
} from './application/queries/conversation-queries.handler';
export type {
  ConversationSummary,
  ConversationReceipts,
  DeliveryMarkView,
  EditHistory,
  ListConversationsRequest,
  MessageContent,
  MessageReactions,
  MessageReceipts,
  MessageVersion,
  MessageView,
  Page,
  PageRequest,
  ReactionCount,
  ReadMarkView,
  Thread,
  TitleContent,
  ConversationEventRecord,
  ConversationEventsPage,
  ConversationEventsRequest,
  SentMessagePlacement,
} from './application/queries/conversation-queries.views';
export type { ConversationReadModels } from './application/queries/conversation-read-models.port';
export type {
  ConversationListReads,
  ConversationListEntry,
  MemberConversationsRequest,
} from './application/queries/conversation-list-reads.port';
export type {
  MessageHistoryReads,
  MessagePageRequest,
  MessageRecord,
} from './application/queries/message-history-reads.port';
export type {
  MessageEditsReads,
  MessageVersionRecord,
} from './application/queries/message-edits-reads.port';
export type { ReactionsReads, ReactionRecord } from './application/queries/reactions-reads.port';
export type { ReceiptsReads } from './application/queries/receipts-reads.port';
export { sqlConversationReadModels } from './adapters/sql-conversation-read-models.adapter';
export type { ConversationMemberships } from './application/queries/conversation-memberships.port';
export { SqlConversationMemberships } from './adapters/sql-conversation-memberships.adapter';
export { CONVERSATION_MEMBERSHIPS } from './conversations.tokens';
export {
  NO_REPLAY_HINTS,
  ConversationAsOfFold,
  foldConversationAsOf,
  asSeenByMember,
  isAtOrBefore,
  membershipUndetermined,
  participantsOf,
  wasMemberAt,
  type ConversationAsOf,
  type LaterChanges,
  type ReplayGap,
  type ReplayHints,
  type ReplayedContent,
  type ReplayedMember,
  type ReplayedMembership,
  type ReplayedMessage,
  type ReplayedReaction,
  type ReplayedRedaction,
  type ReplayedVersion,
  type ReplayEvent,
  type ReadConversationEvent,
} from './domain/conversation.replay';
export {
  ConversationReplayFold,
  replayConversation,
} from './application/queries/conversation-replay';
export {
  PointInTimeReplay,
  type ConversationReplayOptions,
  type ReplayRequester,
  type UserViewAsOf,
} from './application/queries/conversation-replay.handler';
export { ReplayConversationNotFoundError } from './application/queries/conversation-replay.errors';
export { SqlReplayHints } from './adapters/sql-replay-hints.adapter';
export type { ReplayHintSource } from './application/queries/replay-hints.port';
export {
  ConversationProjections,
  CONVERSATION_PROJECTIONS,
  type ConversationProjectionsOptions,
} from './projections/conversation-projections';
export type { ConversationProjection, ProjectedEvent } from './projections/conversation-projection';
export { conversationsManifest } from './manifest';
export {
  ConversationsModule,
  CONVERSATION_STATES,
  ATTACHMENT_CHECKS,
  type ConversationsModuleOptions,
} from './conversations.module';
export {
  CONVERSATION_API_LIMITS,
  CONVERSATION_API_MAX_PAGE_SIZE,
  CONVERSATION_API_DEFAULT_PAGE_SIZE,
} from './api/conversation-api.config';
export { ConversationResolver } from './api/conversation.resolver';
/** The GraphQL `Conversation` type, for other libs' fields on it (libs/calls `calls`, libs/push `muted`). */
export { Conversation as ConversationType } from './api/conversation.dto';
export { MemberResolver } from './api/member.resolver';
export { MessageResolver } from './api/message.resolver';
export { Message } from './api/message.dto'; // libs/files
export { ReactionResolver } from './api/reaction.resolver';
export { ReceiptResolver } from './api/receipt.resolver';
export { ConversationEventsResolver } from './api/conversation-events.resolver';
export { ConversationLiveEvents, membershipFromReadModels } from './api/conversation-live-events';
export { ConversationRealtimeOperations } from './api/conversation-realtime.operations';
export { ConversationRealtimeFeed } from './api/conversation-realtime.feed';
export {
  realtimeEventFields,
  realtimeAck,
  type RealtimeEventSource,
} from './api/conversation-realtime.views';
export {
  sendMessageRequest,
  editMessageRequest,
  redactMessageRequest,
  reactionRequest,
  markDeliveredRequest,
  markReadRequest,
} from './api/conversation-requests';
export {
  ConversationFanOut,
  ConversationEventsUnavailableError,
  type ConversationFanOutOptions,
  type FanOutLog,
  type LiveConversationEvent,
  type MembershipSource,
} from './api/conversation-fan-out';
export { ConversationNotFoundError, ConversationGoneError } from './api/conversation-api.errors';
export { EmergencyAccessResolver } from './api/emergency-access.resolver';
export {
  EmergencyAccess,
  EMERGENCY_GRANTED,
  EMERGENCY_REVOKED,
  emergencyStreamId,
  type EmergencyAlert,
  type EmergencyAlerts,
  type EmergencyGrant,
  type GrantEmergencyAccess,
} from './application/emergency/emergency-access.handler';
export {
  EmergencyGrantNotFoundError,
  EmergencyGrantRefusedError,
} from './application/emergency/emergency-access.errors';
