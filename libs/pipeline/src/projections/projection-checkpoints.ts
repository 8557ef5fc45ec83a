import type { SqlExecutor } from '@ledgerline/database';
import type { GlobalPosition } from '@ledgerline/kernel';

interface Row {
  name: string;
  commit_position: string | null;
  prepare_position: string | null;
}

export function positionOf(row: Row): GlobalPosition | undefined {
  return row.commit_position === null || row.prepare_position === null
    ? undefined
    : { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
}

/**
 * The projections' committed positions (absent: nothing applied yet), creating their rows on first
 * sight. With `lock`, the rows stay locked until the transaction ends: the batch that applies
 * events holds them, so two nodes never apply the same events.
 */
export async function loadCheckpoints(
  db: SqlExecutor,
  names: readonly string[],
  options: { readonly lock?: boolean } = {},
): Promise<Map<string, GlobalPosition | undefined>> {
  if (!options.lock) {
    await db.query(
      `insert into ll_projections (name) select unnest($1::text[]) on conflict (name) do nothing`,
      [names],
      { name: 'll_projections_ensure' },
    );
  }
  const rows = await db.query<Row>(
    `select name, commit_position::text as commit_position, prepare_position from ll_projections
      where name = any($1::text[]) order by name ${options.lock ? 'for update' : ''}`,
    [names],
    { name: options.lock ? 'll_projections_lock' : 'll_projections_load' },
  );
  return new Map(rows.map((r) => [r.name, positionOf(r)]));
}

/** Moves each named projection's checkpoint forward to its position (never back), in one statement. */
export async function saveCheckpoints(
  tx: SqlExecutor,
  positions: readonly (readonly [string, GlobalPosition])[],
): Promise<void> {
  if (positions.length === 0) return;
  await tx.query(
    `update ll_projections p set commit_position = v.c::xid8, prepare_position = v.p, updated_at = now()
      from unnest($1::text[], $2::text[], $3::bigint[]) as v(name, c, p)
      where p.name = v.name
        and (p.commit_position is null or (p.commit_position, p.prepare_position) < (v.c::xid8, v.p))`,
    [
      positions.map(([name]) => name),
      positions.map(([, at]) => at.commit.toString()),
      positions.map(([, at]) => at.prepare.toString()),
    ],
    { name: 'll_projections_save' },
  );
}

/** Keeps the last stop of a projection for operators; cleared by a rebuild or a replay. */
export async function recordFailure(
  db: SqlExecutor,
  name: string,
  code: string,
  position: GlobalPosition,
): Promise<void> {
  await db.query(
    `update ll_projections set failed_at = now(), failure_code = $2, failure_commit = $3::xid8,
       failure_prepare = $4 where name = $1`,
    [name, code, position.commit.toString(), position.prepare.toString()],
  );
}

/** Sends a projection back to the start of the log (a replay over its own rows). */
export async function resetCheckpoint(db: SqlExecutor, name: string): Promise<number> {
  await db.query(`insert into ll_projections (name) values ($1) on conflict (name) do nothing`, [
    name,
  ]);
  const [row] = await db.query<{ generation: number }>(
    `update ll_projections set commit_position = null, prepare_position = null,
       generation = generation + 1, failed_at = null, failure_code = null,
       failure_commit = null, failure_prepare = null, updated_at = now()
      where name = $1 returning generation`,
    [name],
  );
  return Number(row!.generation);
}
