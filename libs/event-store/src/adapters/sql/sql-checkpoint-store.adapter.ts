import { type SqlClient } from '@ledgerline/database';
import type { GlobalPosition } from '@ledgerline/kernel';
import type { CheckpointStore } from '../../event-store.port';

/** Named subscription checkpoints in PostgreSQL/PGlite (table `ll_checkpoints`). */
export class SqlCheckpointStore implements CheckpointStore {
  private constructor(private readonly client: SqlClient) {}

  static create(client: SqlClient): SqlCheckpointStore {
    return new SqlCheckpointStore(client);
  }

  async load(name: string): Promise<GlobalPosition | undefined> {
    const rows = await this.client.query<{ commit_position: string; prepare_position: string }>(
      'select commit_position::text as commit_position, prepare_position from ll_checkpoints where name = $1',
      [name],
    );
    const row = rows[0];
    return row
      ? { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) }
      : undefined;
  }

  async save(name: string, position: GlobalPosition): Promise<void> {
    await this.client.query(
      `insert into ll_checkpoints (name, commit_position, prepare_position) values ($1, $2::xid8, $3)
       on conflict (name) do update set commit_position = excluded.commit_position,
         prepare_position = excluded.prepare_position, updated_at = now()`,
      [name, position.commit.toString(), position.prepare.toString()],
    );
  }
}
