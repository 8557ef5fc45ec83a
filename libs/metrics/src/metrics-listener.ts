import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LedgerlineError } from '@ledgerline/kernel';
import type { Metrics } from './metrics';

/** Where the operator listener binds. Port 0: a free port, chosen by the system. */
export interface MetricsListenerSettings {
  readonly host: string;
  readonly port: number;
}

/** The operator listener could not bind (address in use, not available…). */
export class MetricsListenError extends LedgerlineError {
  readonly code = 'metrics_listen_failed';
}

/** Paths the operator listener answers; everything else is 404. */
export const METRICS_PATH = '/metrics';

/**
 * The operator listener: a plain node:http server, apart from the public app, that answers
 * `GET /metrics` (and HEAD) with the Prometheus text format and nothing else (404 elsewhere, 405
 * for other methods). It reads no request body and sets no cookie; it is meant for loopback or a
 * private network that only the scraper reaches.
 */
export class MetricsListener {
  private constructor(
    private readonly server: Server,
    /** `http://host:port/metrics`, with the port actually bound. */
    readonly url: string,
  ) {}

  static async start(
    metrics: Metrics,
    settings: MetricsListenerSettings,
  ): Promise<MetricsListener> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path !== METRICS_PATH) {
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response
          .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
          .end('method not allowed\n');
        return;
      }
      metrics.text().then(
        (text) => {
          response.writeHead(200, {
            'content-type': metrics.contentType,
            'cache-control': 'no-store',
          });
          response.end(request.method === 'HEAD' ? undefined : text);
        },
        () => {
          response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('error\n');
        },
      );
    });
    // A scraper's connection is short and rare: keep nothing waiting on idle keep-alives.
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          new MetricsListenError(
            `the metrics listener cannot listen on ${hostPort(settings.host, settings.port)} (${error.code ?? error.name}); set LEDGERLINE_METRICS_HOST / LEDGERLINE_METRICS_PORT, or LEDGERLINE_METRICS_ENABLED=false`,
            { cause: error },
          ),
        );
      };
      server.once('error', onError);
      server.listen(settings.port, settings.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    return new MetricsListener(server, `http://${hostPort(settings.host, port)}${METRICS_PATH}`);
  }

  /** Stops listening and closes its connections; resolves once closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
