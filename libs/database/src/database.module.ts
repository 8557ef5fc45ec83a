import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type LedgerlineConfig } from '@ledgerline/kernel';
import { METRICS, type Metrics } from '@ledgerline/metrics';
import { countingSqlClient } from './counting-sql-client';
import { openDatabase } from './open-database';
import type { SqlClient } from './sql-client.port';

export const SQL_CLIENT = Symbol('SqlClient');

class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SQL_CLIENT) private readonly client: SqlClient) {}
  // Runs after every beforeApplicationShutdown hook, so users of the client have stopped by now.
  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

/**
 * Opens PostgreSQL (DATABASE_URL) or embedded PGlite once per process and closes it last. With
 * METRICS in the app, every statement and commit through the client is counted.
 */
@Global()
@Module({
  providers: [
    {
      provide: SQL_CLIENT,
      inject: [CONFIG, { token: METRICS, optional: true }],
      useFactory: async (config: LedgerlineConfig, metrics?: Metrics) => {
        const logger = new Logger('Database');
        const client = await openDatabase({
          databaseUrl: config.storage.databaseUrl,
          dataDir: config.storage.dataDir,
          poolSize: config.storage.poolSize,
          connectTimeoutMs: config.storage.connectTimeoutMs,
          onBackgroundError: (what) => logger.warn(what),
        });
        return metrics ? countingSqlClient(client, metrics) : client;
      },
    },
    DatabaseLifecycle,
  ],
  exports: [SQL_CLIENT],
})
export class DatabaseModule {}
