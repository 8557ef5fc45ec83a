export {
  AuditorQueries,
  AUDITOR_DISCLOSURE_ACTIONS,
  DISCLOSURE_ACTION_PREFIX,
  isDisclosure,
  type AuditEntry,
  type AuditPage,
  type AuditPageRequest,
  type AuditSearch,
  type AuditorQueriesOptions,
} from './auditor-queries.handler';
export {
  AuditPageSizeError,
  InvalidAuditCursorError,
  InvalidAuditFilterError,
  InvalidTimeRangeError,
  InvalidAsOfError,
  InvalidContentReasonError,
  type ContentReasonProblem,
} from './auditor.errors';
export { decodeAuditCursor, encodeAuditCursor } from './audit-cursor';
export { AuditorReplay } from './auditor-replay.handler';
export { AuditReplayModule, type AuditReplayModuleOptions } from './audit-replay.module';
export { MAX_CONTENT_REASON_CHARS, parseContentReason } from './content-reason';
export {
  CONVERSATION_REPLAY_SOURCE,
  type ConversationReplaySource,
  type ReplayRequester,
  type ReplayedActorKind,
  type ReplayedContent,
  type ReplayedConversation,
  type ReplayedMember,
  type ReplayedMemberRole,
  type ReplayedMembership,
  type ReplayedMessage,
  type ReplayedParticipantKind,
  type ReplayedReaction,
  type ReplayedRedaction,
  type ReplayedUserView,
  type ReplayedVersion,
  type ReplayGap,
} from './conversation-replay.port';
