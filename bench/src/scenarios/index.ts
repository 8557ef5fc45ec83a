import { auditedHistoryRead } from './audited-history-read';
import { callSetup } from './call-setup';
import { checkpointThroughput } from './checkpoint-throughput';
import { eventStoreAppend } from './event-store-append';
import { filesTransfer } from './files-transfer';
import { graphqlSendMessage } from './graphql-send-message';
import { kmsCalls } from './kms-calls';
import { pushDispatch } from './push-dispatch';
import { realtimeDirect, realtimeFanOut } from './realtime-fan-out';
import { realtimeIdleConnections } from './realtime-idle-connections';
import { sealedAppend } from './sealed-append';
import { sealedRead } from './sealed-read';
import { sfuFanOut } from './sfu-fan-out';
import type { Scenario } from './scenario';
import { turnRelay } from './turn-relay';

export type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

/** Every scenario `npm run bench` runs, in order. Add new ones here. */
export const scenarios: readonly Scenario[] = [
  eventStoreAppend,
  sealedAppend,
  sealedRead,
  kmsCalls,
  graphqlSendMessage,
  auditedHistoryRead,
  checkpointThroughput,
  realtimeFanOut,
  realtimeDirect,
  realtimeIdleConnections,
  turnRelay,
  // libs/calls, libs/sfu
  callSetup,
  sfuFanOut,
  // libs/push
  pushDispatch,
  // libs/files
  filesTransfer,
];
