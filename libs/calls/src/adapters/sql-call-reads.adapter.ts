import type { SqlClient } from '@ledgerline/database';
import { GroupCommit, type PendingItem } from '@ledgerline/kernel';
import type { DeviceRef } from '../domain/call.events';
import type { CallReads, DeviceCall, DueCallTimers } from '../application/call-reads.port';
import type { CallHistoryEntry } from '../application/call-views';

interface DeviceLookup {
  readonly tenantId: string;
  readonly device: DeviceRef;
}

/** Devices looked up in one statement at most. */
const DEVICES_PER_STATEMENT = 500;

/** CallReads over `ll_calls` and `ll_call_devices`. */
export class SqlCallReads implements CallReads {
  /**
   * A device's calls are looked up as it connects and disconnects: devices doing so together (a
   * crowd reconnecting) are looked up in one statement per group. One loop per variant.
   */
  private readonly lookups: Record<'all' | 'inGrace', GroupCommit<DeviceLookup, DeviceCall[]>>;

  constructor(private readonly client: SqlClient) {
    const options = {
      maxInFlight: client.kind === 'pglite' ? 1 : 2,
      maxItems: DEVICES_PER_STATEMENT,
    };
    this.lookups = {
      all: new GroupCommit((group) => this.lookUp(group, false), options),
      inGrace: new GroupCommit((group) => this.lookUp(group, true), options),
    };
  }

  async latestSequence(tenantId: string, conversationId: string): Promise<number> {
    const [row] = await this.client.query<{ latest: number }>(
      `select coalesce(max(sequence), 0)::int as latest from ll_calls
       where tenant_id = $1 and conversation_id = $2`,
      [tenantId, conversationId],
    );
    return Number(row?.latest ?? 0);
  }

  async history(
    tenantId: string,
    conversationId: string,
    limit: number,
  ): Promise<CallHistoryEntry[]> {
    const rows = await this.client.query<{
      call_id: string;
      kind: 'direct' | 'group';
      media: 'audio' | 'video';
      status: 'ringing' | 'active' | 'ended';
      started_by: string;
      started_at: Date | string;
      ended_at: Date | string | null;
      participants: string[];
      duration_ms: string | number | null;
      outcome: string | null;
    }>(
      `select call_id, kind, media, status, started_by, started_at, ended_at, participants,
              duration_ms, outcome
       from ll_calls where tenant_id = $1 and conversation_id = $2
       order by sequence desc limit $3`,
      [tenantId, conversationId, limit],
    );
    return rows.map((r) => ({
      callId: r.call_id,
      kind: r.kind,
      media: r.media,
      status: r.status,
      startedBy: r.started_by,
      startedAt: new Date(r.started_at).toISOString(),
      endedAt: r.ended_at === null ? null : new Date(r.ended_at).toISOString(),
      participants: r.participants,
      durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
      outcome: r.outcome,
    }));
  }

  async dueTimers(now: Date): Promise<DueCallTimers[]> {
    const due = await this.client.query<{
      tenant_id: string;
      call_id: string;
      conversation_id: string;
    }>(
      `select tenant_id, call_id, conversation_id from ll_calls
         where next_deadline is not null and next_deadline <= $1
         order by next_deadline limit 200`,
      [now],
    );
    return due.map((r) => ({
      tenantId: r.tenant_id,
      callId: r.call_id,
      conversationId: r.conversation_id,
    }));
  }

  callsOfDevice(
    tenantId: string,
    device: DeviceRef,
    options: { readonly inGraceOnly: boolean },
  ): Promise<DeviceCall[]> {
    return this.lookups[options.inGraceOnly ? 'inGrace' : 'all'].submit({ tenantId, device });
  }

  private async lookUp(
    group: readonly PendingItem<DeviceLookup, DeviceCall[]>[],
    inGraceOnly: boolean,
  ): Promise<void> {
    const rows = await this.client.query<{
      tenant_id: string;
      user_id: string;
      device_id: string;
      call_id: string;
      conversation_id: string;
    }>(
      `select d.tenant_id, d.user_id, d.device_id, d.call_id, k.conversation_id
       from ll_call_devices d
       join ll_calls k on k.tenant_id = d.tenant_id and k.call_id = d.call_id
       where (d.tenant_id, d.user_id, d.device_id) in (
           select t, u, v from unnest($1::text[], $2::text[], $3::text[]) as x(t, u, v))
         and k.status <> 'ended' ${inGraceOnly ? 'and d.grace_until is not null' : ''}`,
      [
        group.map((p) => p.item.tenantId),
        group.map((p) => p.item.device.userId),
        group.map((p) => p.item.device.deviceId),
      ],
    );
    const byDevice = new Map<string, DeviceCall[]>();
    for (const r of rows) {
      const key = JSON.stringify([r.tenant_id, r.user_id, r.device_id]);
      const calls = byDevice.get(key) ?? [];
      calls.push({ callId: r.call_id, conversationId: r.conversation_id });
      byDevice.set(key, calls);
    }
    for (const { item, resolve } of group) {
      resolve(
        byDevice.get(JSON.stringify([item.tenantId, item.device.userId, item.device.deviceId])) ??
          [],
      );
    }
  }
}
