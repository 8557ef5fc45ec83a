import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { CONFIG, type LedgerlineConfig, type SchemaPart } from '@ledgerline/kernel';
import { METRICS, type Metrics } from '@ledgerline/metrics';
import { countingSqlClient } from './counting-sql-client';
import { migrateSchema, verifySchema } from './migrations';
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

export interface DatabaseModuleOptions {
  /** The tables of every lib the process runs (their manifests' schema, in order). */
  readonly schema: readonly SchemaPart[];
  /**
   * `migrate`: apply what is pending, once, before anything uses the database (a server's start).
   * `verify`: one read that refuses to go on with an older schema (operator commands and other
   * processes that must not change the schema behind a running server).
   */
  readonly mode: 'migrate' | 'verify';
}

/**
 * Opens PostgreSQL (DATABASE_URL) or embedded PGlite once per process, brings its schema up (or
 * checks it) before any store uses it, and closes it last. With METRICS in the app, every
 * statement and commit through the client is counted.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: SQL_CLIENT,
          inject: [CONFIG, { token: METRICS, optional: true }],
          useFactory: async (config: LedgerlineConfig, metrics?: Metrics) => {
            const logger = new Logger('Database');
            const opened = await openDatabase({
              databaseUrl: config.storage.databaseUrl,
              dataDir: config.storage.dataDir,
              poolSize: config.storage.poolSize,
              connectTimeoutMs: config.storage.connectTimeoutMs,
              onBackgroundError: (what) => logger.warn(what),
            });
            const client = metrics ? countingSqlClient(opened, metrics) : opened;
            try {
              if (options.mode === 'verify') await verifySchema(client, options.schema);
              else {
                const { applied } = await migrateSchema(client, options.schema);
                if (applied.length > 0) logger.log(`applied ${applied.join(', ')}`);
              }
            } catch (error) {
              await opened.close();
              throw error;
            }
            return client;
          },
        },
        DatabaseLifecycle,
      ],
      exports: [SQL_CLIENT],
    };
  }
}
