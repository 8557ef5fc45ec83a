export {
  REALTIME_PATH,
  REALTIME_SUBPROTOCOL,
  BEARER_SUBPROTOCOL_PREFIX,
  DEFAULT_REALTIME_LIMITS,
  realtimeSettingsFrom,
  type RealtimeSettings,
} from './realtime.config';
export {
  REALTIME_SETTINGS,
  REALTIME_OPERATIONS,
  REALTIME_FEED,
  REALTIME_PRESENCE,
  REALTIME_TYPING,
  REALTIME_CHANNELS,
} from './realtime.tokens';
export { RealtimeModule, type RealtimeModuleOptions } from './realtime.module';
export { RealtimeGateway, type RealtimeGatewayStats } from './gateway/realtime.gateway';
export type { CloseCause } from './gateway/realtime-connection';
export {
  realtimeOperation,
  type RealtimeContext,
  type RealtimeOperation,
  type RealtimeChannel,
} from './protocol/realtime-operation.port';
export {
  PROTOCOL_VERSION,
  pushFrame,
  type JsonValue,
  type ReplyFields,
} from './protocol/realtime-frames';
export {
  REALTIME_ERROR_CODES,
  RealtimeRequestError,
  InvalidInputError,
  type RealtimeErrorCode,
  type RealtimeErrorBody,
  type FieldProblem,
} from './protocol/realtime-errors';
export type { FeedItem, FeedPage, RealtimeFeed } from './feed/realtime-feed.port';
export type {
  RealtimePresence,
  RealtimeTyping,
  PresenceChangeSignal,
  TypingSignalView,
} from './presence/realtime-presence.port';
