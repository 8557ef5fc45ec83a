import { DataKeyNotFoundError, type DataKeys } from '@ledgerline/crypto';
import type { SqlClient } from '@ledgerline/database';
import type { Clock } from '@ledgerline/kernel';
import { monthEpoch } from '@ledgerline/ledger';
import {
  CONVERSATION_SNAPSHOT_VERSION,
  deserializeConversationState,
  serializeConversationState,
} from '../domain/conversation.snapshot';
import type { ConversationState } from '../domain/conversation.state';
import type {
  ConversationSnapshotRecord,
  ConversationSnapshotStore,
  SnapshotProblem,
} from '../application/conversation-snapshots.port';
import { openSnapshot, sealSnapshot } from '../application/snapshot-cipher';

/** A snapshot: the decided state after the stream's event at `revision`. */
export interface SqlConversationSnapshotsOptions {
  readonly clock: Clock;
  /** Retention epoch of the data key sealing at `at`: the ledger's (default: the UTC month). */
  readonly epochOf?: (at: Date) => string;
  /** Told about every snapshot passed over; ids only (never log the state). */
  readonly onProblem?: (streamId: string, problem: SnapshotProblem) => void;
}

interface SnapshotRow {
  tenant_id: string;
  revision: string;
  version: number;
  key_id: string;
  state: Uint8Array;
}

/** Snapshots in PostgreSQL/PGlite (`ll_conversation_snapshots`), sealed with the stream's data keys. */
export class SqlConversationSnapshots implements ConversationSnapshotStore {
  private readonly epochOf: (at: Date) => string;

  private constructor(
    private readonly client: SqlClient,
    private readonly keys: Pick<DataKeys, 'sealingKey' | 'openingKey'>,
    private readonly options: SqlConversationSnapshotsOptions,
  ) {
    this.epochOf = options.epochOf ?? monthEpoch;
  }

  static create(
    client: SqlClient,
    keys: Pick<DataKeys, 'sealingKey' | 'openingKey'>,
    options: SqlConversationSnapshotsOptions,
  ): SqlConversationSnapshots {
    return new SqlConversationSnapshots(client, keys, options);
  }

  async load(tenantId: string, streamId: string): Promise<ConversationSnapshotRecord | undefined> {
    const [row] = await this.client.query<SnapshotRow>(
      `select tenant_id, revision::text as revision, version, key_id, state
       from ll_conversation_snapshots where stream_id = $1`,
      [streamId],
    );
    if (!row || row.tenant_id !== tenantId) return undefined;
    if (row.version !== CONVERSATION_SNAPSHOT_VERSION) {
      return this.passOver(streamId, 'unsupported_version');
    }
    const revision = BigInt(row.revision);
    let key: Buffer;
    try {
      key = await this.keys.openingKey(row.key_id, { tenantId, streamId });
    } catch (error) {
      // Shredded (or never ours): the snapshot is as gone as the events it summarises.
      if (error instanceof DataKeyNotFoundError) return this.passOver(streamId, 'key_unavailable');
      throw error;
    }
    let json: Buffer;
    try {
      json = openSnapshot(
        key,
        { tenantId, streamId, revision, snapshotVersion: row.version },
        row.state,
      );
    } catch {
      return this.passOver(streamId, 'tampered');
    } finally {
      key.fill(0);
    }
    try {
      return { state: deserializeConversationState(JSON.parse(json.toString('utf8'))), revision };
    } catch {
      return this.passOver(streamId, 'malformed');
    } finally {
      json.fill(0);
    }
  }

  async save(
    tenantId: string,
    streamId: string,
    revision: bigint,
    state: ConversationState,
  ): Promise<void> {
    const epoch = this.epochOf(this.options.clock.now());
    const lease = await this.keys.sealingKey({ tenantId, streamId, epoch }, 1);
    const json = Buffer.from(JSON.stringify(serializeConversationState(state)), 'utf8');
    let sealed: Buffer;
    try {
      sealed = sealSnapshot(
        lease.key,
        { tenantId, streamId, revision, snapshotVersion: CONVERSATION_SNAPSHOT_VERSION },
        json,
      );
    } finally {
      lease.key.fill(0);
      json.fill(0);
    }
    await this.client.query(
      `insert into ll_conversation_snapshots (stream_id, tenant_id, revision, version, key_id, epoch, state)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (stream_id) do update set revision = excluded.revision, version = excluded.version,
         key_id = excluded.key_id, epoch = excluded.epoch, state = excluded.state, taken_at = now()
       where ll_conversation_snapshots.revision < excluded.revision
         and ll_conversation_snapshots.tenant_id = excluded.tenant_id`,
      [
        streamId,
        tenantId,
        revision.toString(),
        CONVERSATION_SNAPSHOT_VERSION,
        lease.keyId,
        epoch,
        sealed,
      ],
    );
  }

  private passOver(streamId: string, problem: SnapshotProblem): undefined {
    this.options.onProblem?.(streamId, problem);
    return undefined;
  }
}
