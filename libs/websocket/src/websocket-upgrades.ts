import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { refuseUpgrade } from './upgrade-refusal';

/**
 * Takes over an upgrade request for its path: it must either complete the upgrade (ws
 * `handleUpgrade`) or refuse it (`refuseUpgrade`), and never leave the socket hanging.
 */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The path of a request URL, without its query string. */
export function upgradePath(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

/**
 * The one `upgrade` listener of the app's HTTP server, routing each WebSocket upgrade by exact
 * path to the endpoint that registered it (graphql-ws on `/graphql`, the realtime protocol on
 * `/v1/realtime`). An upgrade for any other path is refused here, with 404, exactly once; no
 * endpoint ever sees (or destroys) another's sockets.
 *
 * Until a handler has taken the socket, a socket error (a client resetting mid-handshake) is
 * absorbed here rather than crashing the process.
 */
@Injectable()
export class WebSocketUpgrades implements OnModuleDestroy {
  private readonly routes = new Map<string, UpgradeHandler>();
  private server: HttpServer | undefined;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /**
   * Sends upgrades for `path` to `handler`. Returns false when the app has no HTTP server (an
   * application context, e.g. a schema export): there is nothing to listen to. Two endpoints on
   * one path is a wiring mistake and throws.
   */
  route(path: string, handler: UpgradeHandler): boolean {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as HttpServer | undefined;
    if (!server) return false;
    if (this.routes.has(path)) throw new Error(`two WebSocket endpoints on ${path}`);
    this.routes.set(path, handler);
    if (this.server === undefined) {
      this.server = server;
      server.on('upgrade', this.onUpgrade);
    }
    return true;
  }

  /** The paths routed now. */
  get paths(): readonly string[] {
    return [...this.routes.keys()];
  }

  onModuleDestroy(): void {
    this.server?.off('upgrade', this.onUpgrade);
    this.server = undefined;
    this.routes.clear();
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const absorb = () => socket.destroy();
    socket.on('error', absorb);
    const handler = this.routes.get(upgradePath(request.url));
    if (!handler) return refuseUpgrade(socket, 404);
    handler(request, socket, head);
  };
}

/**
 * Provides the app's WebSocketUpgrades. Every WebSocket endpoint's module imports it; Nest makes
 * one instance for the app, so they all share the one listener.
 */
@Module({ providers: [WebSocketUpgrades], exports: [WebSocketUpgrades] })
export class WebSocketUpgradesModule {}
