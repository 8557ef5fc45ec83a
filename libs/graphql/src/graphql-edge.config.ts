import { ConfigError, type LedgerlineConfig } from '@ledgerline/kernel';

/**
 * How the GraphQL edge serves and protects itself. The app fills it from its configuration at
 * start-up (`GraphqlEdgeModule.forRoot`); nothing in this lib reads the environment.
 */
export interface GraphqlEdgeSettings {
  /** Where queries and mutations (HTTP) and subscriptions (graphql-ws) are served. */
  readonly path: string;
  /** `true`: the schema is built in memory only; a file path: it is also written there at start. */
  readonly autoSchemaFile: string | true;
  /** Whether clients may introspect the schema. Off by default when NODE_ENV=production. */
  readonly introspection: boolean;
  /** Whether a browser GET on `path` shows GraphiQL. Off by default when NODE_ENV=production. */
  readonly landingPage: boolean;
  /** Deepest field nesting an operation may have (fragments do not add a level). */
  readonly maxDepth: number;
  /** Highest cost an operation may have: 1 per field unless a field declares its `complexity`. */
  readonly maxCost: number;
  /** Root mutation fields one request may run (aliases count): bounds what one request can write. */
  readonly maxMutations: number;
  /**
   * Operations one user may run per second over GraphQL (HTTP and graphql-ws together). The app
   * gives it the realtime protocol's per-user rate (LEDGERLINE_REALTIME_RATE_PER_USER).
   */
  readonly ratePerUser: number;
  /** Largest HTTP request body on `path`, in bytes. */
  readonly maxBodyBytes: number;
  /** Largest graphql-ws message, in bytes; a larger one closes the socket (1009). */
  readonly maxWsPayloadBytes: number;
  /** How long a socket may stay open without a `connection_init` (then 4408). */
  readonly wsConnectionInitTimeoutMs: number;
  /** Interval of server pings; a socket that does not answer within one interval is dropped. */
  readonly wsKeepAliveMs: number;
  /**
   * Origins (scheme://host[:port]) allowed to open a graphql-ws socket. Undefined: any; a request
   * without an Origin header (not a browser) is always let through to authentication.
   */
  readonly allowedOrigins?: readonly string[];
  /** Serve `me`, the caller's principal (ids and roles only). */
  readonly viewerQuery: boolean;
}

/** What `forRoot` accepts: any setting, the rest from the defaults for the environment. */
export type GraphqlEdgeOptions = Partial<GraphqlEdgeSettings>;

export const DEFAULT_GRAPHQL_EDGE_SETTINGS = {
  path: '/graphql',
  autoSchemaFile: true,
  maxDepth: 8,
  maxCost: 1000,
  maxMutations: 10,
  ratePerUser: 50,
  maxBodyBytes: 1024 * 1024,
  maxWsPayloadBytes: 1024 * 1024,
  wsConnectionInitTimeoutMs: 3_000,
  wsKeepAliveMs: 12_000,
  viewerQuery: true,
} as const satisfies Partial<GraphqlEdgeSettings>;

/** Fills in defaults (introspection and landing page follow the environment) and checks limits. */
export function resolveGraphqlEdgeSettings(
  options: GraphqlEdgeOptions,
  environment: LedgerlineConfig['env'],
): GraphqlEdgeSettings {
  const development = environment !== 'production';
  const settings: GraphqlEdgeSettings = {
    ...DEFAULT_GRAPHQL_EDGE_SETTINGS,
    introspection: development,
    landingPage: development,
    ...definedOnly(options),
  };
  const problems: { variable: string; problem: string }[] = [];
  const positive = (name: keyof GraphqlEdgeSettings, value: number) => {
    if (!Number.isSafeInteger(value) || value < 1) {
      problems.push({ variable: `graphql.${name}`, problem: 'must be a positive integer' });
    }
  };
  positive('maxDepth', settings.maxDepth);
  positive('maxCost', settings.maxCost);
  positive('maxMutations', settings.maxMutations);
  positive('ratePerUser', settings.ratePerUser);
  positive('maxBodyBytes', settings.maxBodyBytes);
  positive('maxWsPayloadBytes', settings.maxWsPayloadBytes);
  positive('wsConnectionInitTimeoutMs', settings.wsConnectionInitTimeoutMs);
  positive('wsKeepAliveMs', settings.wsKeepAliveMs);
  if (!settings.path.startsWith('/')) {
    problems.push({ variable: 'graphql.path', problem: 'must start with /' });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

function definedOnly(options: GraphqlEdgeOptions): GraphqlEdgeOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
