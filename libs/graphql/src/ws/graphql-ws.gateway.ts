import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type ValidationRule,
} from 'graphql';
import { handleProtocols, makeServer, type Server as GraphqlWsServer } from 'graphql-ws';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  API_KEY_REVOCATIONS,
  AUTHENTICATOR,
  AuthenticationError,
  type ApiKeyRevocations,
  bearerCredential,
  requestOriginOf,
  type Authenticator,
  type Principal,
} from '@ledgerline/identity';
import { CLOCK, type Clock } from '@ledgerline/kernel';
import { METRICS, type Metrics } from '@ledgerline/metrics';
import {
  closeAll,
  isOriginAllowed,
  rawText,
  refuseUpgrade,
  runAt,
  startHeartbeat,
  WebSocketUpgrades,
  WS_CLOSE,
} from '@ledgerline/websocket';
import type { EdgeContext } from '../edge-context';
import { EdgeError, type EdgeErrorCode } from '../errors/edge-error';
import {
  formatEdgeError,
  reportInternalError,
  type EdgeErrorFormatOptions,
} from '../errors/edge-error-format';
import type { GraphqlEdgeSettings } from '../graphql-edge.config';
import {
  EDGE_ERROR_REPORTER,
  GRAPHQL_EDGE_SETTINGS,
  GRAPHQL_USER_RATE,
} from '../graphql-edge.tokens';
import { checkOperationLimits } from '../limits/operation-limits';
import type { UserRequestRate } from '../limits/user-request-rate';

/** Close codes a client sees (shared with the realtime protocol); 44xx mirror HTTP statuses. */
export { WS_CLOSE };

/** How long a draining server waits for clients to answer its close before cutting them off. */
const DRAIN_GRACE_MS = 1_000;

interface SocketState {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  principal?: Principal;
  cancelExpiry?: () => void;
  cancelRevocationWatch?: () => void;
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the edge's path,
 * sharing the HTTP server.
 *
 * Every socket authenticates in its `connection_init` payload (`{ authorization: 'Bearer …' }`)
 * through the same Authenticator as HTTP: a refused credential closes it with 4401
 * `Unauthorized`, and a JWT's expiry closes it with 4401 `Token expired` at that instant, ending
 * its subscriptions. Operations get the same validation, depth and cost limits and error
 * formatting as over HTTP. Messages over `maxWsPayloadBytes` close the socket (1009); a browser
 * Origin outside `allowedOrigins` is refused at the upgrade (403).
 *
 * Upgrades reach it through WebSocketUpgrades, the app's one `upgrade` listener, which routes by
 * path (the realtime protocol has its own) and refuses unknown paths itself.
 */
@Injectable()
export class GraphqlWsGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('GraphqlEdge');
  private wss?: WebSocketServer;
  private server?: GraphqlWsServer<SocketState>;
  private draining?: Promise<void>;
  private readonly formatOptions: EdgeErrorFormatOptions;
  private readonly rules: readonly ValidationRule[];

  constructor(
    @Inject(GRAPHQL_EDGE_SETTINGS) private readonly settings: GraphqlEdgeSettings,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EDGE_ERROR_REPORTER) report: EdgeErrorFormatOptions['report'],
    @Inject(GRAPHQL_USER_RATE) private readonly rate: UserRequestRate,
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly upgrades: WebSocketUpgrades,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
    @Optional() @Inject(API_KEY_REVOCATIONS) private readonly revocations?: ApiKeyRevocations,
  ) {
    this.formatOptions = { hideSchemaDetails: !settings.introspection, report };

    this.rules = settings.introspection
      ? specifiedRules
      : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  }

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer() as HttpServer | undefined;
    if (!httpServer) return; // an application context without HTTP (e.g. a schema export)
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.settings.maxWsPayloadBytes,
      handleProtocols: (protocols) => handleProtocols(protocols),
    });
    this.server = makeServer<Record<string, unknown>, SocketState>({
      schema: this.schemaHost.schema,
      connectionInitWaitTimeout: this.settings.wsConnectionInitTimeoutMs,
      onConnect: (ctx) => this.onConnect(ctx.extra, ctx.connectionParams),
      onSubscribe: (ctx, _id, payload) =>
        this.onSubscribe(ctx.extra, payload.query, payload.operationName, payload.variables),
      onNext: (_ctx, _id, _payload, _args, result) => this.formatResult(result),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => this.format(e)),
    });
    this.upgrades.route(this.settings.path, this.onUpgrade);
  }

  /**
   * Stops accepting sockets and closes the open ones (1001 `Going away`), which ends their
   * subscriptions. The app calls it before closing the HTTP server: an open socket keeps
   * `server.close()` from completing.
   */
  drain(): Promise<void> {
    this.draining ??= this.closeAll();
    return this.draining;
  }

  async onModuleDestroy(): Promise<void> {
    await this.drain();
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const wss = this.wss;
    if (!wss || this.draining) return refuseUpgrade(socket, 503);
    if (!isOriginAllowed(request.headers.origin, this.settings.allowedOrigins)) {
      return refuseUpgrade(socket, 403);
    }
    wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  };

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const server = this.server;
    if (!server) return socket.terminate();
    const state: SocketState = { socket, request };
    this.metrics?.connectionOpened('graphql-ws');
    // ws closes the socket itself on protocol errors (1009 for an oversized message, 1002 …);
    // the error carries ws's code, never the payload.
    socket.on('error', (error: Error & { code?: string }) => {
      this.logger.debug(`graphql-ws socket error ${error.code ?? error.name}`);
    });

    const stopHeartbeat = startHeartbeat(socket, this.settings.wsKeepAliveMs);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (socket.readyState !== WebSocket.OPEN) return resolve();
            // A failed send means the socket is going away; its close handler cleans up.
            socket.send(data, () => resolve());
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: RawData) => {
            handle(rawText(data)).catch((error: unknown) => {
              this.reportInternal(error);
              socket.close(WS_CLOSE.internalError, 'Internal server error');
            });
          }),
      },
      state,
    );

    socket.once('close', (code: number, reason: Buffer) => {
      this.metrics?.connectionClosed('graphql-ws');
      stopHeartbeat();
      state.cancelExpiry?.();
      state.cancelRevocationWatch?.();
      closed(code, reason.toString()).catch((error: unknown) => this.reportInternal(error));
    });
  }

  private async onConnect(
    state: SocketState,
    params: Readonly<Record<string, unknown>> | undefined,
  ): Promise<boolean> {
    const { socket } = state;
    const header = params?.['authorization'] ?? params?.['Authorization'];
    let principal: Principal;
    try {
      principal = await this.authenticator.authenticate(
        bearerCredential(typeof header === 'string' ? header : undefined),
        undefined,
        requestOriginOf(state.request, 'graphql-ws'),
      );
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error; // closes 4500, reported
      if (error.reason === 'keys_unavailable') {
        socket.close(WS_CLOSE.tryAgainLater, 'Try again later');
      } else {
        socket.close(WS_CLOSE.unauthorized, 'Unauthorized');
      }
      return false;
    }
    if (socket.readyState !== WebSocket.OPEN) return false; // the client left meanwhile
    const expiresAt = principal.tokenExpiresAt;
    if (expiresAt !== undefined && expiresAt.getTime() <= this.clock.now().getTime()) {
      socket.close(WS_CLOSE.unauthorized, 'Token expired');
      return false;
    }
    state.principal = principal;
    if (principal.credentialId !== undefined) {
      // A revoked API key ends its socket (and subscriptions) on whichever node it is.
      state.cancelRevocationWatch = this.revocations?.watch(principal.credentialId, () =>
        socket.close(WS_CLOSE.credentialRevoked, 'Credential revoked'),
      );
    }
    if (expiresAt !== undefined) {
      state.cancelExpiry = runAt(this.clock, expiresAt, () =>
        socket.close(WS_CLOSE.unauthorized, 'Token expired'),
      );
    }
    return true;
  }

  private async onSubscribe(
    state: SocketState,
    query: string,
    operationName: string | null | undefined,
    variables: Record<string, unknown> | null | undefined,
  ) {
    const principal = state.principal;
    if (!principal) {
      // Unreachable: graphql-ws refuses a subscribe before the connection is acknowledged.
      return [
        new EdgeError('UNAUTHENTICATED', 'authentication failed: no credential was presented'),
      ];
    }
    const schema = this.schemaHost.schema;
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      if (error instanceof GraphQLError) return [withCode(error, 'GRAPHQL_PARSE_FAILED')];
      throw error;
    }
    const invalid = validate(schema, document, this.rules);
    if (invalid.length > 0) return invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
    if (!getOperationAST(document, operationName)) {
      return [new EdgeError('BAD_REQUEST', 'The document does not name one operation to run.')];
    }
    const refusal = checkOperationLimits(
      { schema, document, variables, operationName },
      {
        maxDepth: this.settings.maxDepth,
        maxCost: this.settings.maxCost,
        maxMutations: this.settings.maxMutations,
      },
    );
    if (refusal) return [refusal];
    const limited = await this.rate.admit(principal);
    if (limited) return [limited];
    const contextValue: EdgeContext = { principal, transport: 'ws' };
    return {
      schema,
      document,
      contextValue,
      ...(operationName ? { operationName } : {}),
      ...(variables ? { variableValues: variables } : {}),
    };
  }

  private formatResult(result: ExecutionResult): FormattedExecutionResult | undefined {
    if (!result.errors?.length) return undefined;
    return {
      ...(result.data !== undefined ? { data: result.data } : {}),
      ...(result.extensions ? { extensions: result.extensions } : {}),
      errors: result.errors.map((e) => this.format(e)),
    };
  }

  private format(error: GraphQLError) {
    return formatEdgeError(error.toJSON(), error, this.formatOptions);
  }

  private reportInternal(error: unknown): void {
    reportInternalError(error, this.formatOptions.report);
  }

  private async closeAll(): Promise<void> {
    const wss = this.wss;
    if (!wss) return;
    await closeAll(wss.clients, WS_CLOSE.goingAway, 'Going away', DRAIN_GRACE_MS);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

/** A graphql-js error with the code Apollo gives the same failure over HTTP. */
function withCode(error: GraphQLError, code: EdgeErrorCode): GraphQLError {
  return new GraphQLError(error.message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    extensions: { code },
  });
}
