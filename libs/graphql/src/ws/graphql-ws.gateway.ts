import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Inject,
  Injectable,
  Logger,
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
  AUTHENTICATOR,
  AuthenticationError,
  bearerCredential,
  type Authenticator,
  type Principal,
} from '@ledgerline/identity';
import { CLOCK, type Clock } from '@ledgerline/kernel';
import type { EdgeContext } from '../edge-context';
import { EdgeError, type EdgeErrorCode } from '../errors/edge-error';
import {
  formatEdgeError,
  reportInternalError,
  type EdgeErrorFormatOptions,
} from '../errors/edge-error-format';
import type { GraphqlEdgeSettings } from '../graphql-edge.config';
import { EDGE_ERROR_REPORTER, GRAPHQL_EDGE_SETTINGS } from '../graphql-edge.tokens';
import { checkOperationLimits } from '../limits/operation-limits';

/** Close codes a client sees; 44xx mirror HTTP statuses, as graphql-ws's own codes do. */
export const WS_CLOSE = {
  /** Refused or expired credential. Reason `Unauthorized`, or `Token expired`. */
  unauthorized: 4401,
  /** The identity provider's keys are unavailable; reconnect later (RFC 6455 "Try Again Later"). */
  tryAgainLater: 1013,
  /** The server is shutting down. */
  goingAway: 1001,
  internalError: 4500,
} as const;

/** setTimeout's ceiling (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
/** How long a draining server waits for clients to answer its close before cutting them off. */
const DRAIN_GRACE_MS = 1_000;

interface SocketState {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  principal?: Principal;
  cancelExpiry?: () => void;
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
 * Upgrades to other paths are left to whoever else listens (the realtime protocol); such a
 * listener must itself ignore this path (ws `noServer`, routing by path).
 */
@Injectable()
export class GraphqlWsGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('GraphqlEdge');
  private wss?: WebSocketServer;
  private server?: GraphqlWsServer<SocketState>;
  private httpServer?: HttpServer;
  private draining?: Promise<void>;
  private readonly formatOptions: EdgeErrorFormatOptions;
  private readonly rules: readonly ValidationRule[];

  constructor(
    @Inject(GRAPHQL_EDGE_SETTINGS) private readonly settings: GraphqlEdgeSettings,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EDGE_ERROR_REPORTER) report: EdgeErrorFormatOptions['report'],
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
  ) {
    this.formatOptions = { hideSchemaDetails: !settings.introspection, report };
    this.rules = settings.introspection
      ? specifiedRules
      : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  }

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer() as HttpServer | undefined;
    if (!httpServer) return; // an application context without HTTP (e.g. a schema export)
    this.httpServer = httpServer;
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
    httpServer.on('upgrade', this.onUpgrade);
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
    if (!wss) return;
    if ((request.url ?? '').split('?')[0] !== this.settings.path) {
      // Another path belongs to another listener; with none, the socket would hang open.
      if (this.httpServer?.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (this.draining) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const origin = request.headers.origin;
    const allowed = this.settings.allowedOrigins;
    if (origin !== undefined && allowed !== undefined && !allowed.includes(origin)) {
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  };

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const server = this.server;
    if (!server) return socket.terminate();
    const state: SocketState = { socket, request };
    // ws closes the socket itself on protocol errors (1009 for an oversized message, 1002 …);
    // the error carries ws's code, never the payload.
    socket.on('error', (error: Error & { code?: string }) => {
      this.logger.debug(`graphql-ws socket error ${error.code ?? error.name}`);
    });

    let pongWait: NodeJS.Timeout | undefined;
    const keepAlive = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), this.settings.wsKeepAliveMs);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, this.settings.wsKeepAliveMs);

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
      clearInterval(keepAlive);
      clearTimeout(pongWait);
      state.cancelExpiry?.();
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
    if (expiresAt !== undefined) {
      state.cancelExpiry = runAt(this.clock, expiresAt, () =>
        socket.close(WS_CLOSE.unauthorized, 'Token expired'),
      );
    }
    return true;
  }

  private onSubscribe(
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
      { maxDepth: this.settings.maxDepth, maxCost: this.settings.maxCost },
    );
    if (refusal) return [refusal];
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
    this.httpServer?.off('upgrade', this.onUpgrade);
    const wss = this.wss;
    if (!wss) return;
    const sockets = [...wss.clients];
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            const cutOff = setTimeout(() => socket.terminate(), DRAIN_GRACE_MS);
            socket.once('close', () => {
              clearTimeout(cutOff);
              resolve();
            });
            socket.close(WS_CLOSE.goingAway, 'Going away');
          }),
      ),
    );
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

/** Runs `action` at `when` by `clock`, however far away; returns the cancel function. */
function runAt(clock: Clock, when: Date, action: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const delay = when.getTime() - clock.now().getTime();
    if (delay <= 0) return action();
    timer = setTimeout(arm, Math.min(delay, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}
