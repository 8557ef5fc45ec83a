import type { INestApplicationContext } from '@nestjs/common';
import type { Command } from 'commander';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { AccessCatalogue, ApiKeyStore, identityConfig, loadRolePolicy } from '@ledgerline/identity';
import {
  CLOCK,
  ID_GENERATOR,
  type Clock,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGERLINE_LIBS } from '../../server/src/lib-manifests';
import { recordOperatorAccess, withCliContext } from './cli-context';

/** `ledgerline apikeys …`: keys for app backends, each scoped to one tenant, stored hashed. */
export function registerApiKeyCommands(
  program: Command,
  config: () => LedgerlineConfig,
  out: (line: string) => void,
): void {
  const apikeys = program
    .command('apikeys')
    .description('API keys for backend services (stored hashed)');
  const withStore = <T>(fn: (store: ApiKeyStore, app: INestApplicationContext) => Promise<T>) => {
    const cfg = config();
    return withCliContext(cfg, async (app) => {
      const policy = loadRolePolicy(
        cfg.slice(identityConfig).rolesFile,
        new AccessCatalogue(LEDGERLINE_LIBS),
      );
      const store = ApiKeyStore.open(app.get<SqlClient>(SQL_CLIENT), {
        clock: app.get<Clock>(CLOCK),
        ids: app.get<IdGenerator>(ID_GENERATOR),
        definesRole: (role) => policy.roles.has(role),
      });
      return fn(store, app);
    });
  };

  apikeys
    .command('create')
    .requiredOption('--tenant <id>', 'the tenant the key acts in')
    .requiredOption('--name <name>', 'what the key is for (e.g. the backend that uses it)')
    .option('--roles <roles>', 'comma-separated roles from policies/roles.yaml', 'service')
    .action((opts: { tenant: string; name: string; roles: string }) =>
      withStore(async (store, app) => {
        const roles = opts.roles
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean);
        const created = await store.create(opts.tenant, opts.name, roles);
        await recordOperatorAccess(app, {
          tenantId: opts.tenant,
          action: 'apikey.created',
          resourceType: 'api_key',
          targetIds: [created.id],
        });
        out(
          `api key ${created.id} for tenant ${opts.tenant} (${roles.join(', ')}); shown once, store it now:`,
        );
        out(created.key);
      }),
    );
  apikeys
    .command('revoke')
    .argument('<id>', 'the key id')
    .action((id: string) =>
      withStore(async (store, app) => {
        const info = await store.revoke(id);
        await recordOperatorAccess(app, {
          tenantId: info.tenantId,
          action: 'apikey.revoked',
          resourceType: 'api_key',
          targetIds: [info.id],
        });
        out(`api key ${info.id} revoked`);
      }),
    );
  apikeys
    .command('list')
    .requiredOption('--tenant <id>', 'the tenant')
    .action((opts: { tenant: string }) =>
      withStore(async (store) => {
        const keys = await store.list(opts.tenant);
        if (keys.length === 0) out('no api keys');
        for (const k of keys) {
          out(
            `${k.id}  ${k.name}  roles ${k.roles.join(',')}  ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}`,
          );
        }
      }),
    );
}
