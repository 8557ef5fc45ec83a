export {
  Metrics,
  LATENCY_BUCKETS,
  type MetricsOptions,
  type AppendOutcome,
  type SqlStatementKind,
  type SqlCommitKind,
  type ConnectionTransport,
  type DeliveryPath,
  type KeyProviderOperation,
  type CallOutcome,
} from './metrics';
export { METRICS, MetricsModule } from './metrics.module';
export {
  MetricsListener,
  MetricsListenError,
  METRICS_PATH,
  type MetricsListenerSettings,
} from './metrics-listener';
