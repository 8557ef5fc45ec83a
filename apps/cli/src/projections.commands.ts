import type { Command } from 'commander';
import { ConversationProjections } from '@ledgerline/conversations';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import type { LedgerlineConfig } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { withCliContext } from './cli-context';

/** `ledgerline projections …`: rebuild read models from the log. */
export function registerProjectionCommands(
  program: Command,
  config: () => LedgerlineConfig,
  out: (line: string) => void,
): void {
  const projections = program
    .command('projections')
    .description('read models built from the event log');
  projections
    .command('rebuild')
    .description(
      'build a projection (or all) anew from the whole log beside the live one, then swap it in (blue/green: a running server keeps serving reads throughout)',
    )
    .argument(
      '[names...]',
      'conversation-list, message-history, message-edits, reactions, receipts (default: all)',
    )
    .action((names: string[]) =>
      withCliContext(config(), async (app) => {
        const runner = ConversationProjections.create(
          app.get<SqlClient>(SQL_CLIENT),
          app.get<Ledger>(LEDGER),
        );
        try {
          const outcomes = await runner.rebuildProjections(names.length > 0 ? names : undefined);
          for (const o of outcomes) {
            out(
              `rebuilt ${o.name} (generation ${o.generation}): ${o.eventsApplied} event(s) applied`,
            );
          }
        } finally {
          await runner.stop();
        }
      }),
    );
}
