export type {
  PresenceStatus,
  PresenceSubjectKind,
  PresenceCause,
  PresenceChanged,
  PresenceEvent,
  PresenceEventType,
} from './domain/presence.events';
export { PRESENCE_STATUSES, PRESENCE_EVENT_VERSIONS } from './domain/presence.events';
export type {
  PresenceCommand,
  ReconcilePresence,
  SetPresenceStatus,
} from './domain/presence.commands';
export {
  presenceDecider,
  decidePresence,
  evolvePresence,
  initialPresenceState,
  offlineDueAt,
  type PresenceState,
} from './domain/presence.decider';
export {
  PresenceRefused,
  PresenceRefusalReason,
  InvalidPresenceInput,
  type PresenceInputProblem,
} from './domain/presence.errors';
export {
  PRESENCE_STREAM_CATEGORY,
  PRESENCE_STREAM_PREFIX,
  presenceStreamId,
} from './domain/presence-stream';
export { encodePresenceEvent, openPresenceEvent } from './application/presence-events.codec';
export type {
  PresenceView,
  PresenceChange,
  TypingSignal,
  PresenceLog,
} from './application/presence-views';
export {
  PresenceNotVisibleError,
  TypingConversationNotFoundError,
  TypingRateLimitedError,
  PresenceBusyError,
  PresenceEventsUnavailableError,
} from './application/presence.errors';
export type {
  PresenceConnections,
  ConnectionRef,
  ConnectionSubject,
  ConnectionObservation,
} from './application/presence-connections.port';
export { SqlPresenceConnections } from './adapters/sql-presence-connections.adapter';
export { presenceManifest } from './manifest';
export {
  PresenceFanOut,
  type PresenceAudience,
  type PresenceFanOutOptions,
} from './application/presence-fan-out';
export {
  PresenceService,
  type PresenceMemberships,
  type PresenceServiceOptions,
} from './application/presence-service';
export type { TypingChannel, TypingSubscription } from './application/typing-channel.port';
export { PgTypingChannel, TYPING_CHANNEL } from './adapters/pg-typing-channel.adapter';
export {
  TypingIndicators,
  type TypingIndicatorsOptions,
  type TypingMemberships,
} from './application/typing-indicators';
export {
  PresenceModule,
  type PresenceModuleOptions,
  type PresenceMembershipsPort,
} from './presence.module';
export { PresenceResolver } from './api/presence.resolver';
export { presenceConfig, type PresenceSettings } from './presence.config';
