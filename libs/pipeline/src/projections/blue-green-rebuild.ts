import type { SqlClient, SqlExecutor } from '@ledgerline/database';
import { ValidationError, comparePositions, type GlobalPosition } from '@ledgerline/kernel';
import type { Ledger, OpenedEvent } from '@ledgerline/ledger';
import { applyAll, projects, type Projection } from './projection';
import { loadCheckpoints } from './projection-checkpoints';

export interface RebuildOutcome {
  readonly name: string;
  /** The generation now live (the live tables before the swap were the one before). */
  readonly generation: number;
  /** Events applied to the new tables on the way to the end of the log. */
  readonly eventsApplied: number;
  /** The position the new tables hold the log up to: the projection's checkpoint now. */
  readonly position: GlobalPosition | undefined;
}

/** Ends the build's subscription once the new tables are live. */
class Swapped extends Error {}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Builds a projection's tables anew from the first event, beside the live ones, and swaps them in.
 *
 * The new tables are created in a schema of their own (`ll_rebuild_<name>`), shaped like the live
 * ones (`like … including all`); the build's transactions put that schema first on their
 * `search_path`, so the projection's own SQL writes there unchanged. Each time the build has read
 * the whole log, it tries the swap in one transaction that locks the projection's checkpoint row
 * (which the live processor's batches also lock): if the live tables are not ahead of the build,
 * the live tables are dropped, the new ones moved into their place (indexes keep the live names),
 * and the checkpoint set to the build's position; otherwise the build reads on and tries again.
 * Readers see the old tables until that commit and the new ones after it.
 */
export async function rebuildBlueGreen(
  client: SqlClient,
  ledger: Pick<Ledger, 'subscribe'>,
  projection: Projection,
  options: { readonly batchMax: number },
): Promise<RebuildOutcome> {
  if (projection.tables.length === 0) {
    throw new ValidationError(
      `projection ${projection.name} cannot be rebuilt (it owns no tables it may empty)`,
      'projection',
    );
  }
  for (const table of projection.tables) assertIdentifier(table);
  const shadow = `ll_rebuild_${projection.name.replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63);
  const [{ schema: live } = { schema: 'public' }] = await client.query<{ schema: string }>(
    'select current_schema() as schema',
  );
  assertIdentifier(live);
  await client.transaction(async (tx) => {
    await loadCheckpoints(tx, [projection.name]);
    await tx.exec(`drop schema if exists ${shadow} cascade; create schema ${shadow}`);
    for (const table of projection.tables) {
      await tx.exec(`create table ${shadow}.${table} (like ${live}.${table} including all)`);
    }
  });

  let buffer: OpenedEvent[] = [];
  let built: GlobalPosition | undefined;
  let applied = 0;
  let generation = 0;
  const flush = async () => {
    const batch = buffer.filter((e) => projects(projection, e));
    const last = buffer[buffer.length - 1];
    buffer = [];
    if (batch.length > 0) {
      await client.transaction(async (tx) => {
        await tx.exec(`set local search_path to ${shadow}, ${live}`);
        await applyAll(tx, projection, batch);
      });
      applied += batch.length;
    }
    if (last) built = last.position;
  };

  const subscription = ledger.subscribe({
    filter: { streamPrefixes: projection.streamPrefixes },
    onEvent: async (event) => {
      buffer.push(event);
      if (buffer.length >= options.batchMax) await flush();
    },
    onCaughtUp: async (position) => {
      await flush();
      built = position;
      const swapped = await swap(client, projection, shadow, live, position);
      if (swapped !== undefined) {
        generation = swapped;
        throw new Swapped();
      }
    },
  });
  try {
    await subscription.done;
  } catch (error) {
    if (!(error instanceof Swapped)) {
      await client.exec(`drop schema if exists ${shadow} cascade`).catch(() => undefined);
      throw error;
    }
  }
  return { name: projection.name, generation, eventsApplied: applied, position: built };
}

/** Swaps the built tables in when the live ones are not ahead; the new generation, or undefined. */
async function swap(
  client: SqlClient,
  projection: Projection,
  shadow: string,
  live: string,
  built: GlobalPosition,
): Promise<number | undefined> {
  return client.transaction(async (tx) => {
    const current = (await loadCheckpoints(tx, [projection.name], { lock: true })).get(
      projection.name,
    );
    if (current && comparePositions(current, built) > 0) return undefined;
    for (const table of projection.tables) await moveTable(tx, table, shadow, live);
    const [row] = await tx.query<{ generation: number }>(
      `update ll_projections set generation = generation + 1, commit_position = $2::xid8,
         prepare_position = $3, rebuilt_at = now(), updated_at = now(), failed_at = null,
         failure_code = null, failure_commit = null, failure_prepare = null
        where name = $1 returning generation`,
      [projection.name, built.commit.toString(), built.prepare.toString()],
    );
    await tx.exec(`drop schema ${shadow} cascade`);
    return Number(row!.generation);
  });
}

/** Replaces `live.table` by `shadow.table`, giving its indexes the names the live ones had. */
async function moveTable(
  tx: SqlExecutor,
  table: string,
  shadow: string,
  live: string,
): Promise<void> {
  const indexes = (schema: string) =>
    tx.query<{ indexname: string; indexdef: string }>(
      'select indexname, indexdef from pg_indexes where schemaname = $1 and tablename = $2',
      [schema, table],
    );
  const before = new Map((await indexes(live)).map((i) => [shapeOf(i.indexdef), i.indexname]));
  await tx.exec(`drop table ${live}.${table}; alter table ${shadow}.${table} set schema ${live}`);
  for (const index of await indexes(live)) {
    const name = before.get(shapeOf(index.indexdef));
    if (name && name !== index.indexname) {
      assertIdentifier(name);
      assertIdentifier(index.indexname);
      await tx.exec(`alter index ${live}.${index.indexname} rename to ${name}`);
    }
  }
}

/** An index definition without its name and schema: what two copies of one index share. */
function shapeOf(indexdef: string): string {
  return indexdef.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ /, 'CREATE $1INDEX ON ');
}

function assertIdentifier(name: string): void {
  if (!IDENT.test(name)) throw new ValidationError(`not a plain SQL identifier: ${name}`, 'table');
}
