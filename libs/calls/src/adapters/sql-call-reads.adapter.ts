import type { SqlExecutor } from '@ledgerline/database';
import type { DeviceRef } from '../domain/call.events';
import type { CallReads, DeviceCall, DueCallTimers } from '../application/call-reads.port';
import type { CallHistoryEntry } from '../application/call-views';

/** CallReads over `ll_calls` and `ll_call_devices`. */
export class SqlCallReads implements CallReads {
  constructor(private readonly client: SqlExecutor) {}

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

  async callsOfDevice(
    tenantId: string,
    device: DeviceRef,
    options: { readonly inGraceOnly: boolean },
  ): Promise<DeviceCall[]> {
    const rows = await this.client.query<{ call_id: string; conversation_id: string }>(
      `select d.call_id, k.conversation_id from ll_call_devices d
       join ll_calls k on k.tenant_id = d.tenant_id and k.call_id = d.call_id
       where d.tenant_id = $1 and d.user_id = $2 and d.device_id = $3
         and k.status <> 'ended' ${options.inGraceOnly ? 'and d.grace_until is not null' : ''}`,
      [tenantId, device.userId, device.deviceId],
    );
    return rows.map((r) => ({ callId: r.call_id, conversationId: r.conversation_id }));
  }
}
