export type {
  Actor,
  EventMetadata,
  EventToAppend,
  RecordedEvent,
  StreamId,
  StreamRevision,
} from './envelope';
export {
  type GlobalPosition,
  START_POSITION,
  comparePositions,
  encodePosition,
  decodePosition,
} from './position';
export { type AsOf, LATEST, parseAsOf, formatAsOf } from './as-of';
export { type IdGenerator, uuidV7Generator, isUuid, isValidTenantId } from './ids';
export { type Clock, systemClock, ManualClock } from './clock';
export { Pause } from './pause';
export { GroupCommit, type GroupCommitOptions, type PendingItem } from './group-commit';
export {
  LedgerlineError,
  describeError,
  ValidationError,
  TooLargeError,
  ConflictError,
  NotFoundError,
  UnavailableError,
  RateLimitedError,
  ConfigError,
} from './errors';
export {
  type LedgerlineConfig,
  type EventStoreLimits,
  DEFAULT_EVENT_STORE_LIMITS,
  loadConfig,
} from './config/config';
export {
  type ConfigProblem,
  type ConfigSlice,
  type CoreSettings,
  configVar,
  defineConfigSlice,
} from './config/config-slice';
export { CONFIG, CLOCK, ID_GENERATOR, kernelProviders } from './tokens';
export { MAX_JSON_DEPTH, exceedsJsonDepth } from './json-depth';
export { type LibManifest, type Migration, type SchemaPart, schemaOf } from './lib-manifest';
