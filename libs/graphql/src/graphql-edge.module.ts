import type { IncomingMessage } from 'node:http';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Inject,
  Logger,
  Module,
  RequestMethod,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type Provider,
} from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import {
  AUTHENTICATOR,
  USER_REQUEST_BUDGET,
  UserRequestBudget,
  requestOriginOf,
  type Authenticator,
} from '@ledgerline/identity';
import { CONFIG, type LedgerlineConfig } from '@ledgerline/kernel';
import { WebSocketUpgradesModule } from '@ledgerline/websocket';
import type { EdgeContext } from './edge-context';
import {
  formatEdgeError,
  logInternalErrors,
  type EdgeErrorFormatOptions,
} from './errors/edge-error-format';
import {
  DEFAULT_GRAPHQL_EDGE_SETTINGS,
  resolveGraphqlEdgeSettings,
  type GraphqlEdgeOptions,
  type GraphqlEdgeSettings,
} from './graphql-edge.config';
import {
  EDGE_ERROR_REPORTER,
  GRAPHQL_EDGE_SETTINGS,
  GRAPHQL_USER_RATE,
} from './graphql-edge.tokens';
import { GraphqlBodyLimitMiddleware } from './http/graphql-body-limit.middleware';
import { authenticateRequest } from './http/http-authentication';
import { operationLimitsPlugin } from './limits/operation-limits';
import { UserRequestRate } from './limits/user-request-rate';
import { EDGE_BUILD_SCHEMA_OPTIONS } from './schema/schema-export';
import { EdgeValidationPipe } from './validation/edge-validation.pipe';
import { ViewerResolver } from './viewer/viewer.resolver';
import { GraphqlWsGateway } from './ws/graphql-ws.gateway';

export interface GraphqlEdgeModuleOptions extends GraphqlEdgeOptions {
  /**
   * Register EdgeValidationPipe as the app's global pipe (default true). It then validates HTTP
   * controllers' DTOs too, answering 400 through Nest's exception handler.
   */
  readonly globalValidationPipe?: boolean;
}

/** Provides the resolved settings and the error reporter to the edge and to GraphQLModule. */
@Module({})
class GraphqlEdgeSettingsModule {
  static register(options: GraphqlEdgeOptions): DynamicModule {
    return {
      module: GraphqlEdgeSettingsModule,
      providers: [
        {
          provide: GRAPHQL_EDGE_SETTINGS,
          inject: [CONFIG],
          useFactory: (config: LedgerlineConfig) =>
            resolveGraphqlEdgeSettings(
              // One per-user rate for every edge: the realtime protocol's, unless given here.
              { ratePerUser: config.realtime.ratePerUser, ...options },
              config.env,
            ),
        },
        {
          provide: EDGE_ERROR_REPORTER,
          useFactory: () => logInternalErrors(new Logger('GraphqlEdge')),
        },
        {
          provide: GRAPHQL_USER_RATE,
          inject: [GRAPHQL_EDGE_SETTINGS, { token: USER_REQUEST_BUDGET, optional: true }],
          useFactory: (settings: GraphqlEdgeSettings, shared: UserRequestBudget | undefined) =>
            // The process's one per-user budget, shared with realtime; one of its own when the
            // edge was given its own rate.
            new UserRequestRate(
              shared && options.ratePerUser === undefined
                ? shared
                : new UserRequestBudget({ ratePerUser: settings.ratePerUser }),
            ),
        },
      ],
      exports: [GRAPHQL_EDGE_SETTINGS, EDGE_ERROR_REPORTER, GRAPHQL_USER_RATE],
    };
  }
}

/**
 * The GraphQL edge: code-first schema (Apollo Server 5 on Express 5) for queries and mutations
 * over HTTP, and graphql-ws for subscriptions, on one path (`/graphql`).
 *
 * - Every HTTP request and every graphql-ws connection is authenticated by the AUTHENTICATOR port
 *   (IdentityModule) before any operation is parsed; resolvers find the Principal in the context
 *   (`@CurrentPrincipal()`). A socket is closed when its token expires.
 * - Depth and cost limits refuse expensive operations before execution (QUERY_TOO_DEEP,
 *   QUERY_TOO_COMPLEX); request bodies and socket messages are capped.
 * - Introspection and GraphiQL are off in production unless configured on.
 * - Every error leaves through formatEdgeError: a stable `extensions.code`, no stack, no echo of
 *   input; unexpected errors become INTERNAL with an `errorId`, logged without their message.
 * - EdgeValidationPipe (class-validator) is the global pipe unless `globalValidationPipe: false`.
 *
 * Needs CONFIG and CLOCK (the app) and AUTHENTICATOR (IdentityModule) as global providers. Every
 * `@Resolver` in the app's modules becomes part of the schema.
 */
@Module({})
export class GraphqlEdgeModule implements NestModule {
  constructor(@Inject(GRAPHQL_EDGE_SETTINGS) private readonly settings: GraphqlEdgeSettings) {}

  static forRoot(options: GraphqlEdgeModuleOptions = {}): DynamicModule {
    const { globalValidationPipe = true, ...edgeOptions } = options;
    const settingsModule = GraphqlEdgeSettingsModule.register(edgeOptions);
    const providers: Provider[] = [GraphqlWsGateway, GraphqlBodyLimitMiddleware];
    if (edgeOptions.viewerQuery ?? DEFAULT_GRAPHQL_EDGE_SETTINGS.viewerQuery) {
      providers.push(ViewerResolver);
    }
    if (globalValidationPipe) providers.push({ provide: APP_PIPE, useClass: EdgeValidationPipe });
    return {
      module: GraphqlEdgeModule,
      imports: [
        settingsModule,
        WebSocketUpgradesModule,
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          imports: [settingsModule],
          inject: [
            GRAPHQL_EDGE_SETTINGS,
            EDGE_ERROR_REPORTER,
            AUTHENTICATOR,
            CONFIG,
            GRAPHQL_USER_RATE,
          ],
          useFactory: apolloOptions,
        }),
      ],
      providers,
      exports: [GraphqlWsGateway, settingsModule],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(GraphqlBodyLimitMiddleware)
      .forRoutes({ path: this.settings.path, method: RequestMethod.POST });
  }
}

function apolloOptions(
  settings: GraphqlEdgeSettings,
  report: EdgeErrorFormatOptions['report'],
  authenticator: Authenticator,
  config: LedgerlineConfig,
  rate: UserRequestRate,
): ApolloDriverConfig {
  const formatOptions: EdgeErrorFormatOptions = {
    hideSchemaDetails: !settings.introspection,
    report,
  };
  const apolloLogger = new Logger('Apollo');
  return {
    path: settings.path,
    autoSchemaFile: settings.autoSchemaFile,
    sortSchema: true,
    buildSchemaOptions: EDGE_BUILD_SCHEMA_OPTIONS,
    introspection: settings.introspection,
    hideSchemaDetailsFromClientErrors: !settings.introspection,
    // GraphiQL as the landing page; `playground: false` makes Nest install Apollo's "disabled".
    graphiql: settings.landingPage ? { url: settings.path, shouldPersistHeaders: false } : false,
    playground: false,
    nodeEnv: config.env,
    includeStacktraceInErrorResponses: false,
    autoTransformHttpErrors: false,
    formatError: (formatted, error) => formatEdgeError(formatted, error, formatOptions),
    persistedQueries: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    maxRecursiveSelections: true,
    context: async ({ req }: { req: IncomingMessage }): Promise<EdgeContext> => ({
      principal: await authenticateRequest(
        authenticator,
        req.headers.authorization,
        requestOriginOf(req, 'http'),
      ),
      transport: 'http',
    }),
    plugins: [
      operationLimitsPlugin(
        {
          maxDepth: settings.maxDepth,
          maxCost: settings.maxCost,
          maxMutations: settings.maxMutations,
        },
        rate,
      ),
      // Nothing about operations leaves for Apollo's cloud, even if APOLLO_KEY is set.
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
    ],
    logger: {
      debug: (message: unknown) => apolloLogger.debug(String(message)),
      info: (message: unknown) => apolloLogger.log(String(message)),
      warn: (message: unknown) => apolloLogger.warn(String(message)),
      error: (message: unknown) => apolloLogger.error(String(message)),
    },
  };
}
