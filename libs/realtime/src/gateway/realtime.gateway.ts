import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  API_KEY_REVOCATIONS,
  AUTHENTICATOR,
  AuthenticationError,
  type ApiKeyRevocations,
  bearerCredential,
  requestOriginOf,
  USER_REQUEST_BUDGET,
  type Authenticator,
  type Principal,
  type UserRequestBudget,
} from '@ledgerline/identity';
import { CLOCK, ID_GENERATOR, type Clock, type IdGenerator } from '@ledgerline/kernel';
import { METRICS, type Metrics } from '@ledgerline/metrics';
import { isOriginAllowed, refuseUpgrade, WebSocketUpgrades, WS_CLOSE } from '@ledgerline/websocket';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RealtimeFeed } from '../feed/realtime-feed.port';
import type { RealtimePresence, RealtimeTyping } from '../presence/realtime-presence.port';
import { internalErrorReport } from '../protocol/internal-errors';
import type { RealtimeChannel, RealtimeOperation } from '../protocol/realtime-operation.port';
import { REALTIME_SUBPROTOCOL, type RealtimeSettings } from '../realtime.config';
import {
  REALTIME_CHANNELS,
  REALTIME_FEED,
  REALTIME_OPERATIONS,
  REALTIME_PRESENCE,
  REALTIME_SETTINGS,
  REALTIME_TYPING,
} from '../realtime.tokens';
import {
  RealtimeConnection,
  type CloseCause,
  type RealtimeConnectionDependencies,
} from './realtime-connection';
import { RequestLimits } from './request-limits';
import { upgradeCredential } from './upgrade-credential';

/** What the gateway has seen: for metrics, and for tests that assert on memory without timings. */
export interface RealtimeGatewayStats {
  /** Connections open now. */
  readonly connections: number;
  /** Upgrades accepted since start. */
  readonly accepted: number;
  /** Upgrades refused before the WebSocket opened, by HTTP status. */
  readonly refused: Readonly<Record<number, number>>;
  /** Connections ended, by cause. */
  readonly closed: Readonly<Partial<Record<CloseCause, number>>>;
  /** Connections the server decided to close that have not closed yet, by cause. */
  readonly closing: Readonly<Partial<Record<CloseCause, number>>>;
  /** The most bytes any one connection ever had waiting to go out (never above the cap). */
  readonly peakBufferedBytes: number;
  /** Bytes waiting to go out now, over all connections. */
  readonly bufferedBytes: number;
}

/**
 * The realtime protocol's WebSocket endpoint (`/v1/realtime`, docs/realtime-protocol.md), on the
 * app's HTTP server beside graphql-ws (each upgrade routed by path through WebSocketUpgrades).
 *
 * Before the upgrade completes: the Origin is checked against the allowlist (403), the bearer
 * credential (Authorization header, or the `bearer.<token>` subprotocol) is authenticated by the
 * same Authenticator as GraphQL (401; 503 while the identity provider's keys are unavailable), and
 * a draining server refuses (503). A refused client never gets a WebSocket.
 *
 * ws itself enforces the frame cap (close 1009). Everything else about a connection, rate limits,
 * heartbeats, idle logoff, token expiry, the bounded send buffer and the operations, is
 * RealtimeConnection's.
 */
@Injectable()
export class RealtimeGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Realtime');
  private readonly connections = new Map<string, RealtimeConnection>();
  private readonly dependencies: RealtimeConnectionDependencies;
  private wss: WebSocketServer | undefined;
  private draining: Promise<void> | undefined;
  private accepted = 0;
  private readonly refused: Record<number, number> = {};
  private readonly closedBy: Partial<Record<CloseCause, number>> = {};
  private peakBuffered = 0;

  constructor(
    @Inject(REALTIME_SETTINGS) private readonly settings: RealtimeSettings,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly upgrades: WebSocketUpgrades,
    @Inject(REALTIME_OPERATIONS) operations: readonly RealtimeOperation[],
    @Optional() @Inject(REALTIME_FEED) feed?: RealtimeFeed,
    @Optional() @Inject(REALTIME_PRESENCE) presence?: RealtimePresence,
    @Optional() @Inject(REALTIME_TYPING) typing?: RealtimeTyping,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
    @Optional() @Inject(API_KEY_REVOCATIONS) private readonly revocations?: ApiKeyRevocations,
    @Optional() @Inject(USER_REQUEST_BUDGET) budget?: UserRequestBudget,
    @Optional() @Inject(REALTIME_CHANNELS) channels?: readonly RealtimeChannel[],
  ) {
    const byOp = new Map<string, RealtimeOperation>();
    for (const operation of operations) {
      if (byOp.has(operation.op)) throw new Error(`two realtime operations named ${operation.op}`);
      byOp.set(operation.op, operation);
    }
    this.dependencies = {
      settings,
      clock,
      limits: new RequestLimits(settings, budget),
      operations: byOp,
      ...(feed ? { feed } : {}),
      ...(presence ? { presence } : {}),
      ...(typing ? { typing } : {}),
      ...(channels ? { channels } : {}),
      ...(metrics ? { metrics } : {}),
      log: {
        debug: (fields) => this.logger.debug(fields),
        warn: (fields) => this.logger.warn(fields),
        error: (fields) => this.logger.error(fields),
      },
    };
  }

  onApplicationBootstrap(): void {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.settings.maxFrameBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) =>
        protocols.has(REALTIME_SUBPROTOCOL) ? REALTIME_SUBPROTOCOL : false,
    });
    this.upgrades.route(this.settings.path, (request, socket, head) => {
      void this.onUpgrade(request, socket, head);
    });
  }

  /**
   * Refuses new connections (503) and closes the open ones with 1001 `Going away`; resolves once
   * they have closed (or been cut off). The app calls it before closing the HTTP server.
   */
  drain(): Promise<void> {
    this.draining ??= this.closeAll();
    return this.draining;
  }

  async onModuleDestroy(): Promise<void> {
    await this.drain();
  }

  stats(): RealtimeGatewayStats {
    let buffered = 0;
    const closing: Partial<Record<CloseCause, number>> = {};
    for (const connection of this.connections.values()) {
      buffered += connection.bufferedBytes;
      const cause = connection.closing;
      if (cause !== undefined) closing[cause] = (closing[cause] ?? 0) + 1;
      this.peakBuffered = Math.max(this.peakBuffered, connection.peakBufferedBytes);
    }
    return {
      connections: this.connections.size,
      accepted: this.accepted,
      refused: { ...this.refused },
      closed: { ...this.closedBy },
      closing,
      peakBufferedBytes: this.peakBuffered,
      bufferedBytes: buffered,
    };
  }

  private async onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.draining || !this.wss) return this.refuse(socket, 503, { 'Retry-After': '1' });
    if (!isOriginAllowed(request.headers.origin, this.settings.allowedOrigins)) {
      return this.refuse(socket, 403);
    }
    const credential = upgradeCredential(request);
    if (!credential.ok) return this.refuse(socket, 400);
    let principal: Principal;
    try {
      principal = await this.authenticator.authenticate(
        bearerCredential(credential.authorization),
        undefined,
        requestOriginOf(request, 'realtime'),
      );
    } catch (error) {
      if (!(error instanceof AuthenticationError)) {
        this.logger.error({ msg: 'realtime upgrade failed', ...internalErrorReport(error) });
        return this.refuse(socket, 503, { 'Retry-After': '5' });
      }
      if (error.reason === 'keys_unavailable') {
        return this.refuse(socket, 503, { 'Retry-After': '5' });
      }
      return this.refuse(socket, 401, {
        'WWW-Authenticate':
          error.reason === 'missing'
            ? 'Bearer realm="ledgerline"'
            : 'Bearer realm="ledgerline", error="invalid_token"',
      });
    }
    const expiresAt = principal.tokenExpiresAt;
    if (expiresAt !== undefined && expiresAt.getTime() <= this.clock.now().getTime()) {
      return this.refuse(socket, 401, {
        'WWW-Authenticate': 'Bearer realm="ledgerline", error="invalid_token"',
      });
    }
    // The client may have gone, or the server begun to drain, while the credential was checked.
    if (socket.destroyed) return;
    if (this.draining) return this.refuse(socket, 503, { 'Retry-After': '1' });
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, principal));
  }

  private accept(socket: WebSocket, principal: Principal): void {
    const connection = new RealtimeConnection(
      this.ids.next(),
      socket,
      principal,
      this.dependencies,
    );
    this.accepted += 1;
    this.connections.set(connection.id, connection);
    this.metrics?.connectionOpened('realtime');
    // An API key revoked while its connection is open ends it, on whichever node it is.
    const stopWatching =
      principal.credentialId === undefined
        ? undefined
        : this.revocations?.watch(principal.credentialId, () =>
            connection.close(
              'credential_revoked',
              WS_CLOSE.credentialRevoked,
              'Credential revoked',
            ),
          );
    void connection.closed.then((cause) => {
      stopWatching?.();
      this.connections.delete(connection.id);
      this.metrics?.connectionClosed('realtime');
      this.peakBuffered = Math.max(this.peakBuffered, connection.peakBufferedBytes);
      this.closedBy[cause] = (this.closedBy[cause] ?? 0) + 1;
    });
    connection.start();
    this.logger.debug({
      msg: 'realtime connection opened',
      connectionId: connection.id,
      principalKind: principal.kind,
    });
  }

  private refuse(socket: Duplex, status: number, headers: Record<string, string> = {}): void {
    this.refused[status] = (this.refused[status] ?? 0) + 1;
    refuseUpgrade(socket, status, headers);
  }

  private async closeAll(): Promise<void> {
    const connections = [...this.connections.values()];
    for (const connection of connections) {
      connection.close('going_away', WS_CLOSE.goingAway, 'Going away');
    }
    await Promise.all(connections.map((c) => c.closed));
    const wss = this.wss;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
