export type { SqlClient, SqlExecutor } from './sql-client.port';
export { SqlError, DatabaseInUseError, DatabaseUnavailableError, toSqlError } from './sql-errors';
export {
  PostgresSqlClient,
  describeDatabase,
  type PostgresOptions,
} from './adapters/postgres-sql-client.adapter';
export { PgliteSqlClient } from './adapters/pglite-sql-client.adapter';
export {
  type Migration,
  type SchemaPart,
  MigrationDriftError,
  SchemaBehindError,
  migrate,
  migrateSchema,
  verifySchema,
  migrationChecksum,
} from './migrations';
export { type AppendOnlyTables, APPEND_ONLY_SQLSTATE, appendOnlySql } from './append-only';
export { openDatabase, type DatabaseSettings } from './open-database';
export { ChannelListener } from './channel-listener';
export { DatabaseModule, SQL_CLIENT } from './database.module';
export { countingSqlClient, type SqlCounter } from './counting-sql-client';
