import type { Command } from 'commander';
import { migrateSchema, openDatabase } from '@ledgerline/database';
import { schemaOf, type LedgerlineConfig } from '@ledgerline/kernel';
import { LEDGERLINE_LIBS } from '../../server/src/lib-manifests';

/**
 * `ledgerline migrate`: applies every pending migration of every lib the server composes, once,
 * under the migration lock (what a server does at start), so a deployment can migrate before it
 * rolls out new nodes. Other operator commands only check the schema is current.
 */
export function registerMigrateCommand(
  program: Command,
  config: () => LedgerlineConfig,
  out: (line: string) => void,
): void {
  program
    .command('migrate')
    .description('apply every pending schema migration (a server also does at start)')
    .action(async () => {
      const { storage } = config();
      const client = await openDatabase({
        databaseUrl: storage.databaseUrl,
        dataDir: storage.dataDir,
        poolSize: 1,
        connectTimeoutMs: storage.connectTimeoutMs,
        onBackgroundError: () => undefined,
      });
      try {
        const { applied } = await migrateSchema(client, schemaOf(LEDGERLINE_LIBS));
        for (const name of applied) out(`applied ${name}`);
        out(
          applied.length === 0
            ? 'the schema is up to date'
            : `${applied.length} migration(s) applied`,
        );
      } finally {
        await client.close();
      }
    });
}
