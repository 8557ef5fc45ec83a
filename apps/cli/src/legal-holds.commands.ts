import type { Command } from 'commander';
import { LEGAL_HOLDS, type LegalHolds } from '@ledgerline/crypto';
import { ValidationError, type LedgerlineConfig } from '@ledgerline/kernel';
import { KEY_LIFECYCLE, type KeyLifecycle } from '@ledgerline/ledger';
import { operatorActor, recordOperatorAccess, withCliContext } from './cli-context';

type Out = (line: string) => void;

/**
 * `ledgerline keys hold …`: place, release and list legal holds. Placing and releasing are events
 * in the tenant's key stream (the reason sealed there, never stored in clear nor printed) and
 * access records; a release needs the tenant and a reason.
 */
export function registerLegalHoldCommands(
  keys: Command,
  config: () => LedgerlineConfig,
  out: Out,
): void {
  const hold = keys
    .command('hold')
    .description('legal holds: while one covers a stream, its keys cannot be shredded');
  hold
    .command('add')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--stream <id>', 'one stream')
    .option('--prefix <prefix>', 'every stream whose id starts with this')
    .requiredOption('--reason <text>', 'why (sealed in the tenant key stream, never printed)')
    .action((opts: { tenant: string; stream?: string; prefix?: string; reason: string }) => {
      if (!opts.stream === (opts.prefix === undefined)) {
        throw new ValidationError('give exactly one of --stream or --prefix', 'stream');
      }
      return withCliContext(config(), async (app) => {
        const { hold: placed, eventId } = await app
          .get<KeyLifecycle>(KEY_LIFECYCLE)
          .placeHold(
            opts.stream
              ? { tenantId: opts.tenant, streamId: opts.stream }
              : { tenantId: opts.tenant, streamPrefix: opts.prefix! },
            opts.reason,
            operatorActor(),
          );
        await recordOperatorAccess(app, {
          tenantId: opts.tenant,
          action: 'keys.hold.placed',
          resourceType: 'legal_hold',
          targetIds: [placed.holdId, eventId, opts.stream ?? `prefix:${opts.prefix}`],
        });
        out(`legal hold ${placed.holdId} added (event ${eventId})`);
      });
    });
  hold
    .command('release')
    .argument('<holdId>', 'the hold to release')
    .requiredOption('--tenant <id>', 'the tenant the hold belongs to')
    .requiredOption('--reason <text>', 'why (sealed in the tenant key stream, never printed)')
    .action((holdId: string, opts: { tenant: string; reason: string }) =>
      withCliContext(config(), async (app) => {
        const { eventId } = await app
          .get<KeyLifecycle>(KEY_LIFECYCLE)
          .releaseHold(opts.tenant, holdId, opts.reason, operatorActor());
        await recordOperatorAccess(app, {
          tenantId: opts.tenant,
          action: 'keys.hold.released',
          resourceType: 'legal_hold',
          targetIds: [holdId, eventId],
        });
        out(`legal hold ${holdId} released (event ${eventId})`);
      }),
    );
  hold
    .command('list')
    .requiredOption('--tenant <id>', 'the tenant')
    .action((opts: { tenant: string }) =>
      withCliContext(config(), async (app) => {
        const active = await app.get<LegalHolds>(LEGAL_HOLDS).listActive(opts.tenant);
        if (active.length === 0) out('no active legal holds');
        for (const h of active) {
          const scope = h.streamId ? `stream ${h.streamId}` : `prefix ${h.streamPrefix ?? ''}`;
          out(
            `${h.holdId}  ${scope}  since ${h.createdAt.toISOString()}${h.placedBy ? ` by ${h.placedBy}` : ''}${h.placedEventId ? ` (event ${h.placedEventId})` : ''}`,
          );
        }
      }),
    );
}
