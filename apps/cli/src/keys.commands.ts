import type { Command } from 'commander';
import {
  DATA_KEY_STORE,
  KEY_PROVIDER,
  KekNotFoundError,
  TENANT_KEKS,
  type DataKeyStore,
  type KekDescription,
  type KekRef,
  type KeyProvider,
  type TenantKeks,
} from '@ledgerline/crypto';
import { ValidationError, type LedgerlineConfig } from '@ledgerline/kernel';
import { KEY_LIFECYCLE, ShredRefusedError, type KeyLifecycle } from '@ledgerline/ledger';
import { operatorActor, recordOperatorAccess, withCliContext } from './cli-context';
import { registerLegalHoldCommands } from './legal-holds.commands';
import { SHRED_RESIDUE_NOTICE } from './shred-residue';

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
    .description(
      'per tenant: the current KEK (as the database records it), and how many data keys each KEK version wraps',
    )
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
        const keks = app.get<TenantKeks>(TENANT_KEKS);
        for (const tenant of tenants) {
          const counts = await store.countKeys(tenant);
          const recorded = await keks.current(tenant);
          let described: KekDescription | undefined;
          try {
            described = await provider.describeKek(tenant);
          } catch (error) {
            if (!(error instanceof KekNotFoundError)) throw error;
          }
          // "Current" is what the database records: every node wraps new data keys under it.
          if (recorded) {
            out(
              `tenant ${tenant}: KEK ${currentLabel(recorded)} (recorded ${recorded.recordedAt.toISOString()} by ${recorded.recordedBy})`,
            );
          } else if (described) {
            out(
              `tenant ${tenant}: KEK ${currentLabel({ kekId: described.kekId, kekVersion: described.currentVersion })} (not recorded yet: from this process's configuration)`,
            );
          } else {
            out(`tenant ${tenant}: no KEK yet`);
          }
          if (described && provider.kind === 'local') {
            out(`  key ring holds versions ${described.versions.join(', ')}`);
          } else if (described && recorded && described.kekId !== recorded.kekId) {
            out(
              `  this process's configuration names ${described.kekId}; every node follows the database`,
            );
          }
          out(
            `  data keys: ${counts.active} active, ${counts.retired} retired, ${counts.shredded} shredded, ${counts.withoutWraps} without any wrap`,
          );
          for (const u of usage.filter((x) => x.tenantId === tenant)) {
            out(`  wrapped under ${kekLabel(u)}: ${u.keys}`);
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
        const to = kekLabel({ kekId: result.kekId, kekVersion: result.toVersion });
        const done = `${result.rewrapped} key(s) re-wrapped, ${result.pruned} old wrap(s) removed (event ${result.eventId})`;
        switch (result.outcome) {
          case 'rotated':
            out(`rotated tenant ${result.tenantId} to KEK ${to}: ${done}`);
            break;
          case 'finished':
            out(
              `finished an interrupted rotation of tenant ${result.tenantId} to KEK ${to}: ${done}; run keys rotate again for a new KEK`,
            );
            break;
          case 'unchanged':
            out(
              `tenant ${result.tenantId} is already on KEK ${to} (KMS rotates a key's material itself; to move to another key, configure it for the tenant and rotate again): ${done}`,
            );
            break;
        }
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
          let result: Awaited<ReturnType<KeyLifecycle['shred']>>;
          try {
            result = await lifecycle.shred({
              tenantId: opts.tenant,
              streamId: opts.stream,
              epoch: opts.epoch,
              reason: opts.reason,
              actor: operatorActor(),
            });
          } catch (error) {
            if (error instanceof ShredRefusedError) {
              // The refusal is an event in the key stream already; it is an access record too.
              await recordOperatorAccess(app, {
                tenantId: opts.tenant,
                action: 'keys.shredded',
                outcome: 'denied',
                reason: 'legal_hold',
                resourceType: 'data_keys',
                targetIds: [opts.stream, error.eventId, ...error.holdIds],
              });
            }
            throw error;
          }
          await recordOperatorAccess(app, {
            tenantId: opts.tenant,
            action: 'keys.shredded',
            resourceType: 'data_keys',
            targetIds: [opts.stream, result.eventId, ...result.keyIds],
          });
          out(
            `shredded ${result.keyIds.length} data key(s) of stream ${opts.stream}${opts.epoch ? ` epoch ${opts.epoch}` : ''} (${result.wrapsDeleted} wrap(s) destroyed; event ${result.eventId})`,
          );
          for (const line of SHRED_RESIDUE_NOTICE) out(line);
        });
      },
    );

  keys
    .command('retire-kek')
    .description(
      'destroy an old KEK version in the local key ring once no data key is wrapped under it (what it wrapped, backups included, never opens again)',
    )
    .requiredOption('--tenant <id>', 'the tenant whose KEK version to retire')
    .requiredOption('--kek-version <version>', 'the old version (see keys status)')
    .action((opts: { tenant: string; kekVersion: string }) =>
      withCliContext(config(), async (app) => {
        const { kekId, eventId } = await app
          .get<KeyLifecycle>(KEY_LIFECYCLE)
          .retireKekVersion(opts.tenant, opts.kekVersion, operatorActor());
        await recordOperatorAccess(app, {
          tenantId: opts.tenant,
          action: 'keys.kek.retired',
          resourceType: 'tenant_keys',
          targetIds: [kekId, opts.kekVersion, eventId],
        });
        out(
          `retired KEK ${kekId} version ${opts.kekVersion} of tenant ${opts.tenant} (event ${eventId})`,
        );
      }),
    );

  registerLegalHoldCommands(keys, config, out);
}

/** A KEK version as printed: an AWS KMS key's only version is its ARN, printed once. */
function kekLabel(k: KekRef): string {
  return k.kekId === k.kekVersion ? k.kekId : `${k.kekId} version ${k.kekVersion}`;
}

function currentLabel(k: KekRef): string {
  return k.kekId === k.kekVersion
    ? `${k.kekId} current`
    : `${k.kekId} current version ${k.kekVersion}`;
}
