export {
  PUSH_PLATFORMS,
  PUSH_ENVIRONMENTS,
  PUSH_EVENT_VERSIONS,
  type PushPlatform,
  type PushEnvironment,
  type PushEvent,
  type PushEventType,
} from './domain/push.events';
export { DEFAULT_PUSH_LIMITS, type PushCommand, type PushLimits } from './domain/push.commands';
export {
  pushDecider,
  decidePush,
  evolvePush,
  initialPushState,
  type PushState,
} from './domain/push.decider';
export {
  InvalidPushInput,
  PushRefused,
  PushRefusalReason,
  PushDeviceNotFoundError,
} from './domain/push.errors';
export { PUSH_STREAM_PREFIX, pushStreamId } from './domain/push-stream';
export { normaliseToken, deviceIdOf } from './domain/push-tokens';
export type {
  PushKind,
  PushPayload,
  PushOutcome,
  PushRequest,
  RenderedAlert,
} from './domain/push-payload';
export { renderAlert, templatesProblems, type PushTemplates } from './domain/push-templates';
export { retryDelayMs, givesUp, type RetrySchedule } from './domain/retry-schedule';
export { encodePushEvent, openPushEvent } from './application/push-events.codec';
export { PushCommands, type PushCommandResult } from './application/push-commands.handler';
export {
  PushQueries,
  type DeviceView,
  type MuteView,
  type PushSettingsView,
} from './application/push-queries';
export type { PushSettingsReads } from './application/push-settings-reads.port';
export { SqlPushSettingsReads } from './adapters/sql-push-settings-reads.adapter';
export type { PushProvider } from './application/push-provider.port';
export {
  PushOutboxDispatcher,
  type DispatchReport,
  type OnlineCheck,
  type PushDispatcherOptions,
} from './application/push-dispatcher';
export type { PushOutbox, ClaimedPush, PushDevice } from './application/push-outbox.port';
export { PushDispatcher, SqlPushOutbox } from './adapters/sql-push-outbox.adapter';
export { loadPushTemplates } from './application/push-templates.loader';
export { PushForServicesRefusedError, PushBusyError } from './application/push.errors';
export { pushManifest } from './manifest';
export { pushConfig, type PushSettings } from './push.config';
export { pushProjection, PUSH_PROJECTION } from './projections/push.projection';
export { ApnsPushProvider } from './adapters/apns-push-provider.adapter';
export { FcmPushProvider } from './adapters/fcm-push-provider.adapter';
export { LogPushProvider } from './adapters/log-push-provider.adapter';
export { PushModule, pushProvidersOf } from './push.module';
export { PushResolver, ConversationMutedResolver } from './api/push.resolver';
// Local stand-ins for APNs and FCM speaking their wire protocols (tests, the bench, development).
export { createStandInTls, type StandInTls } from './stand-ins/stand-in-tls';
export { RecordedPushes } from './stand-ins/recorded-pushes';
export { ApnsStandIn, type ApnsAnswer, type ApnsReceived } from './stand-ins/apns-stand-in';
export { FcmStandIn, FCM_ERRORS, type FcmAnswer, type FcmReceived } from './stand-ins/fcm-stand-in';
