export {
  CALL_STREAM_CATEGORY,
  CALL_STREAM_PREFIX,
  CALL_ID,
  callId,
  callStreamId,
  parseCallId,
} from './domain/call-stream';
export type * from './domain/call.events';
export { CALL_EVENT_VERSIONS } from './domain/call.events';
export type * from './domain/call.commands';
export {
  callDecider,
  decideCall,
  evolveCall,
  initialCallState,
  nextDeadline,
  deviceKey,
  type CallState,
  type CallDevice,
} from './domain/call.decider';
export {
  CallRefused,
  CallRefusalReason,
  CallNotFoundError,
  CallConversationNotFoundError,
} from './domain/call.errors';
export {
  encodeCallEvent,
  openCallEvent,
  UnsupportedCallEventError,
} from './application/call-events.codec';
export { CallStates, type LoadedCall } from './application/call-states';
export { callView, type CallView, type CallHistoryEntry } from './application/call-views';
export { CallFanOut, type CallUpdate, type CallChange } from './application/call-fan-out';
export type { CallSignalRelay, RelayedSignal } from './application/call-signal-relay.port';
export { SqlCallSignalRelay, CALL_SIGNAL_CHANNEL } from './adapters/sql-call-signal-relay.adapter';
export { signalStreamId } from './domain/call-stream';
export type { CallReads, DueCallTimers, DeviceCall } from './application/call-reads.port';
export type { CallConnections, RecordedConnection } from './application/call-connections.port';
export { SqlCallReads } from './adapters/sql-call-reads.adapter';
export { SqlCallConnections } from './adapters/sql-call-connections.adapter';
export {
  CallService,
  roomIdOf,
  type CallEntry,
  type CallIceServers,
  type CallMemberships,
  type CallServiceOptions,
  type SignalInput,
} from './application/call-service';
export {
  CallSfuUnavailableError,
  CallSfuRequestError,
  CallSignalRateLimitedError,
  InvalidCallSignalError,
} from './application/calls.errors';
export { callsManifest } from './manifest';
export { callsConfig, type CallsSettings } from './calls.config';
export { callStateProjection, CALL_STATE_PROJECTION } from './projections/call-state.projection';
export { CallProjections } from './projections/call-projections';
export { CallsModule, CALL_ICE_SERVERS, type CallsModuleOptions } from './calls.module';
export { CallRealtimeOperations } from './api/call-realtime.operations';
export { CallResolver, ConversationCallsResolver } from './api/call.resolver';
