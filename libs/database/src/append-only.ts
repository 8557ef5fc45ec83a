/** What `appendOnlySql` makes append-only: the tables, and the trigger function they share. */
export interface AppendOnlyTables {
  /** The trigger function to create, e.g. `ll_merkle_refuse_change`. */
  readonly refuseFunction: string;
  /** What a refused statement says (no values: it is the same for every row). */
  readonly message: string;
  readonly tables: readonly string[];
}

/**
 * The SQL that makes tables append-only in the database itself, for every role the application
 * connects as: a trigger function that raises SQLSTATE `LL403`, BEFORE UPDATE and BEFORE DELETE
 * row triggers and a BEFORE TRUNCATE statement trigger on each table. Inserts still work, and so
 * does `insert … on conflict do nothing` (it updates nothing). Only a role that may disable
 * triggers (the table's owner, a superuser) can get around it, and doing so is a schema change an
 * operator makes on purpose.
 *
 * For a migration's text: the output of a given input never changes, because applied migrations
 * are checked by checksum.
 */
export function appendOnlySql({ refuseFunction, message, tables }: AppendOnlyTables): string {
  const fn = `create function ${refuseFunction}() returns trigger language plpgsql as $$
begin
  raise exception using errcode = 'LL403', message = '${message.replaceAll("'", "''")}';
end $$;
`;
  const triggers = tables.map(
    (table) => `create trigger ${table}_append_only
  before update or delete on ${table}
  for each row execute function ${refuseFunction}();
create trigger ${table}_no_truncate
  before truncate on ${table}
  for each statement execute function ${refuseFunction}();
`,
  );
  return `${fn}\n${triggers.join('')}`;
}

/** The SQLSTATE an append-only table's triggers raise. */
export const APPEND_ONLY_SQLSTATE = 'LL403';
