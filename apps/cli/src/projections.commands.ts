import type { Command } from 'commander';
import { ConversationProjections } from '@ledgerline/conversations';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { CHECKPOINT_STORE, type CheckpointStore } from '@ledgerline/event-store';
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
      'empty a projection (or all) and replay the whole log into it; the result equals the live one',
    )
    .argument(
      '[names...]',
      'conversation-list, message-history, message-edits, reactions, receipts (default: all)',
    )
    .action((names: string[]) =>
      withCliContext(config(), async (app) => {
        const runner = await ConversationProjections.create(
          app.get<SqlClient>(SQL_CLIENT),
          app.get<Ledger>(LEDGER),
          app.get<CheckpointStore>(CHECKPOINT_STORE),
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
