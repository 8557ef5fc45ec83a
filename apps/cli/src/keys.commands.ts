import type { Command } from 'commander';
import {
  DATA_KEY_STORE,
  KEY_PROVIDER,
  KekNotFoundError,
  LEGAL_HOLDS,
  type DataKeyStore,
  type KeyProvider,
  type LegalHolds,
} from '@ledgerline/crypto';
import { ValidationError, type LedgerlineConfig } from '@ledgerline/kernel';
import { KEY_LIFECYCLE, type KeyLifecycle } from '@ledgerline/ledger';
import { operatorActor, recordOperatorAccess, withCliContext } from './cli-context';

type Out = (line: string) => void;

/** `ledgerline keys …`: status, rotate, shred and legal holds. */
export function registerKeyCommands(
  program: Command,
  config: () => LedgerlineConfig,
  out: Out,
): void {
  const keys = program
    .command('keys')
    .description('data keys, KEK rotation, shredding and legal holds');

  keys
    .command('status')
    .description('per tenant: KEK versions, and how many data keys each version wraps')
    .option('--tenant <id>', 'only this tenant')
    .action((opts: { tenant?: string }) =>
      withCliContext(config(), async (app) => {
        const provider = app.get<KeyProvider>(KEY_PROVIDER);
        const store = app.get<DataKeyStore>(DATA_KEY_STORE);
        const usage = await store.countByKekVersion(opts.tenant);
        const tenants = [
          ...new Set([...(opts.tenant ? [opts.tenant] : []), ...usage.map((u) => u.tenantId)]),
        ].sort();
        if (tenants.length === 0) out('no data keys yet');
        for (const tenant of tenants) {
          const counts = await store.countKeys(tenant);
          let kek: string;
          try {
            const d = await provider.describeKek(tenant);
            kek = `KEK ${d.kekId} current version ${d.currentVersion} (versions ${d.versions.join(', ')})`;
          } catch (error) {
            if (!(error instanceof KekNotFoundError)) throw error;
            kek = 'no KEK yet';
          }
          out(`tenant ${tenant}: ${kek}`);
          out(
            `  data keys: ${counts.active} active, ${counts.retired} retired, ${counts.shredded} shredded, ${counts.withoutWraps} without any wrap`,
          );
          for (const u of usage.filter((x) => x.tenantId === tenant)) {
            out(`  wrapped under ${u.kekId} version ${u.kekVersion}: ${u.keys}`);
          }
        }
      }),
    );

  keys
    .command('rotate')
    .description(
      're-wrap every data key of a tenant under a new KEK version (resumable; no event is rewritten)',
    )
    .requiredOption('--tenant <id>', 'the tenant whose KEK to rotate')
    .action((opts: { tenant: string }) =>
      withCliContext(config(), async (app) => {
        const lifecycle = app.get<KeyLifecycle>(KEY_LIFECYCLE);
        const result = await lifecycle.rotate(opts.tenant, operatorActor(), {
          onProgress: (p) =>
            out(
              `  ${p.phase === 'rewrap' ? 're-wrapped' : 'pruned old wraps of'} ${p.done} key(s)`,
            ),
        });
        await recordOperatorAccess(app, {
          tenantId: result.tenantId,
          action: 'keys.rotated',
          resourceType: 'tenant_keys',
          targetIds: [result.kekId, result.eventId],
        });
        out(
          `${result.newVersion ? 'rotated' : 'finished an interrupted rotation of'} tenant ${result.tenantId} to KEK ${result.kekId} version ${result.toVersion}: ${result.rewrapped} key(s) re-wrapped, ${result.pruned} old wrap(s) removed (event ${result.eventId})`,
        );
      }),
    );

  keys
    .command('shred')
    .description(
      "destroy every wrapped copy of a stream's data keys (all epochs, or one): its events become unreadable",
    )
    .requiredOption('--tenant <id>', 'the tenant the stream belongs to')
    .requiredOption('--stream <id>', 'the stream whose keys to destroy')
    .option('--epoch <yyyy-mm>', 'only the keys of this retention epoch')
    .requiredOption('--reason <text>', 'why (recorded, sealed, in the tenant key stream)')
    .option('--confirm', 'required: shredding cannot be undone')
    .action(
      (opts: {
        tenant: string;
        stream: string;
        epoch?: string;
        reason: string;
        confirm?: boolean;
      }) => {
        if (!opts.confirm) {
          throw new ValidationError(
            'shredding cannot be undone: add --confirm to proceed',
            'confirm',
          );
        }
        return withCliContext(config(), async (app) => {
          const lifecycle = app.get<KeyLifecycle>(KEY_LIFECYCLE);
          const result = await lifecycle.shred({
            tenantId: opts.tenant,
            streamId: opts.stream,
            epoch: opts.epoch,
            reason: opts.reason,
            actor: operatorActor(),
          });
          await recordOperatorAccess(app, {
            tenantId: opts.tenant,
            action: 'keys.shredded',
            resourceType: 'data_keys',
            targetIds: [opts.stream, result.eventId, ...result.keyIds],
          });
          out(
            `shredded ${result.keyIds.length} data key(s) of stream ${opts.stream}${opts.epoch ? ` epoch ${opts.epoch}` : ''} (${result.wrapsDeleted} wrap(s) destroyed; event ${result.eventId})`,
          );
        });
      },
    );

  const hold = keys
    .command('hold')
    .description('legal holds: while one covers a stream, its keys cannot be shredded');
  hold
    .command('add')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--stream <id>', 'one stream')
    .option('--prefix <prefix>', 'every stream whose id starts with this')
    .requiredOption('--reason <text>', 'why (stored, never logged)')
    .action((opts: { tenant: string; stream?: string; prefix?: string; reason: string }) => {
      if (!opts.stream === !opts.prefix) {
        throw new ValidationError('give exactly one of --stream or --prefix', 'stream');
      }
      return withCliContext(config(), async (app) => {
        const holds = app.get<LegalHolds>(LEGAL_HOLDS);
        const added = await holds.add(
          opts.stream
            ? { tenantId: opts.tenant, streamId: opts.stream, reason: opts.reason }
            : { tenantId: opts.tenant, streamPrefix: opts.prefix!, reason: opts.reason },
        );
        out(`legal hold ${added.holdId} added`);
      });
    });
  hold
    .command('release')
    .argument('<holdId>', 'the hold to release')
    .action((holdId: string) =>
      withCliContext(config(), async (app) => {
        const released = await app.get<LegalHolds>(LEGAL_HOLDS).release(holdId);
        out(released ? `legal hold ${holdId} released` : `no active legal hold ${holdId}`);
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
          out(`${h.holdId}  ${scope}  since ${h.createdAt.toISOString()}`);
        }
      }),
    );
}
