export { GraphqlEdgeModule, type GraphqlEdgeModuleOptions } from './graphql-edge.module';
export {
  type GraphqlEdgeSettings,
  type GraphqlEdgeOptions,
  DEFAULT_GRAPHQL_EDGE_SETTINGS,
  resolveGraphqlEdgeSettings,
} from './graphql-edge.config';
export { GRAPHQL_EDGE_SETTINGS, EDGE_ERROR_REPORTER } from './graphql-edge.tokens';
export { type EdgeContext, CurrentPrincipal, principalOf } from './edge-context';
export {
  EDGE_ERROR_CODES,
  type EdgeErrorCode,
  EdgeError,
  type EdgeErrorOptions,
  InvalidArgumentsError,
  type ArgumentProblem,
} from './errors/edge-error';
export {
  formatEdgeError,
  reportInternalError,
  logInternalErrors,
  type EdgeErrorFormatOptions,
  type InternalErrorReport,
} from './errors/edge-error-format';
export { EDGE_VALIDATION_OPTIONS, EdgeValidationPipe } from './validation/edge-validation.pipe';
export {
  type OperationLimits,
  type OperationToCheck,
  checkOperationLimits,
  operationLimitsPlugin,
} from './limits/operation-limits';
export {
  createSubscriptionIterator,
  type SubscriptionIteratorOptions,
  SubscriptionOverflowError,
  DEFAULT_SUBSCRIPTION_BUFFER_SIZE,
} from './subscriptions/subscription-iterator';
export { GraphqlWsGateway, WS_CLOSE } from './ws/graphql-ws.gateway';
export { Viewer, ViewerResolver } from './viewer/viewer.resolver';
export {
  EDGE_BUILD_SCHEMA_OPTIONS,
  type SchemaExportOptions,
  buildSchema,
  exportSchema,
  renderSchema,
  servedSchema,
} from './schema/schema-export';
