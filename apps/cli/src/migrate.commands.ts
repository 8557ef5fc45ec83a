import type { Command } from 'commander';
import { checkpointMigrations, auditLogMigrations } from '@ledgerline/audit';
import {
  conversationReadModelMigrations,
  conversationSnapshotMigrations,
} from '@ledgerline/conversations';
import { cryptoMigrations } from '@ledgerline/crypto';
import { SQL_CLIENT, migrate, type Migration, type SqlClient } from '@ledgerline/database';
import { eventStoreMigrations } from '@ledgerline/event-store';
import { identityMigrations } from '@ledgerline/identity';
import type { LedgerlineConfig } from '@ledgerline/kernel';
import { pipelineMigrations } from '@ledgerline/pipeline';
import { presenceMigrations } from '@ledgerline/presence';
import { withCliContext } from './cli-context';

/** Every lib's schema, by namespace, in the order a fresh database takes them. */
const SCHEMA: readonly (readonly [string, readonly Migration[]])[] = [
  ['event-store', eventStoreMigrations],
  ['crypto', cryptoMigrations],
  ['identity', identityMigrations],
  ['pipeline', pipelineMigrations],
  ['conversations', conversationReadModelMigrations],
  ['conversation-snapshots', conversationSnapshotMigrations],
  ['presence', presenceMigrations],
  ['audit-log', auditLogMigrations],
  ['audit-checkpoints', checkpointMigrations],
];

/**
 * `ledgerline migrate`: applies every pending migration of every lib, once, under the migration
 * lock (what a server does at start), so a deployment can migrate before it rolls out new nodes.
 */
export function registerMigrateCommand(
  program: Command,
  config: () => LedgerlineConfig,
  out: (line: string) => void,
): void {
  program
    .command('migrate')
    .description('apply every pending schema migration (a server also does at start)')
    .action(() =>
      withCliContext(config(), async (app) => {
        const client = app.get<SqlClient>(SQL_CLIENT);
        let applied = 0;
        for (const [namespace, migrations] of SCHEMA) {
          const outcome = await migrate(client, namespace, migrations);
          for (const name of outcome.applied) out(`applied ${name}`);
          applied += outcome.applied.length;
        }
        out(applied === 0 ? 'the schema is up to date' : `${applied} migration(s) applied`);
      }),
    );
}
