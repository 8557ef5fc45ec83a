import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { json } from 'body-parser';
import { Logger } from 'nestjs-pino';
import { GraphqlWsGateway } from '@ledgerline/graphql';
import type { LedgerlineConfig } from '@ledgerline/kernel';
import { RealtimeGateway } from '@ledgerline/realtime';
import { AppModule } from './app.module';
import { ClientErrorFilter } from './http/client-error.filter';
import { Readiness } from './health/readiness';
import { OperatorMetrics } from './metrics/operator-metrics.module';

export interface RunningServer {
  readonly app: INestApplication;
  readonly url: string;
  /** The operator listener's `http://host:port/metrics`; undefined when metrics are off. */
  readonly metricsUrl: string | undefined;
  /** Stops accepting, drains in-flight requests, stops subscriptions, closes the store. */
  shutdown(reason: string): Promise<void>;
}

/** Builds and starts the server; throws (with a typed error) if a dependency is unreachable. */
export async function startServer(config: LedgerlineConfig): Promise<RunningServer> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    abortOnError: false,
    // The GraphQL edge parses /graphql itself, under its own cap; other routes take small JSON.
    bodyParser: false,
  });
  // Nothing to gain from telling every client which framework answers.
  app.disable('x-powered-by');
  app.use('/dev', json({ limit: '4kb' }));
  app.useGlobalFilters(new ClientErrorFilter());
  const logger = app.get(Logger);
  app.useLogger(logger);
  await app.listen(config.http.port, config.http.host);
  const server = app.getHttpServer();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      logger.log(`shutting down (${reason}): no longer ready, draining requests`);
      app.get(Readiness).markDraining();
      // Open WebSockets would keep server.close() waiting: close them with "going away".
      await Promise.all([app.get(GraphqlWsGateway).drain(), app.get(RealtimeGateway).drain()]);
      // Stop accepting and wait for in-flight requests; idle keep-alive sockets are closed.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      // Then the providers: subscriptions stop (beforeApplicationShutdown), the database closes last.
      await app.close();
      logger.log('shut down cleanly');
    })();
    return closing;
  };
  return { app, url, metricsUrl: app.get(OperatorMetrics).url, shutdown };
}
