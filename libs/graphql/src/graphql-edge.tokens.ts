/** The resolved GraphqlEdgeSettings of the running edge. */
export const GRAPHQL_EDGE_SETTINGS = Symbol('GraphqlEdgeSettings');
/** Where unexpected errors are reported (EdgeErrorFormatOptions['report']); logs by default. */
export const EDGE_ERROR_REPORTER = Symbol('EdgeErrorReporter');
/** The edge's UserRequestRate, one per process, shared by HTTP and graphql-ws. */
export const GRAPHQL_USER_RATE = Symbol('GraphqlUserRequestRate');
