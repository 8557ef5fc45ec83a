import type { SqlExecutor } from '@ledgerline/database';
import type { Projection } from '@ledgerline/pipeline';
import { openCallEvent } from '../application/call-events.codec';
import { CALL_STREAM_PREFIX, parseCallId } from '../domain/call-stream';
import type { CallEvent } from '../domain/call.events';

export const CALL_STATE_PROJECTION = 'call-state';

/**
 * Calls as they are now (`ll_calls`, `ll_call_devices`) and, once ended, as conversation history
 * shows them: started by, participants, duration, outcome. Each row also holds the call's next
 * due timer, which the nodes' sweeps read. Applying an event twice leaves the same rows.
 */
export const callStateProjection: Projection = {
  name: CALL_STATE_PROJECTION,
  streamPrefixes: [CALL_STREAM_PREFIX],
  tables: ['ll_calls', 'll_call_devices'],
  async apply(tx, opened) {
    const event = openCallEvent(opened);
    if (!event || event.data.tenantId !== opened.tenantId) return; // shredded, or not ours
    await applyCallEvent(tx, event);
  },
};

async function applyCallEvent(tx: SqlExecutor, event: CallEvent): Promise<void> {
  const { tenantId: t, callId: c, at } = event.data;
  switch (event.type) {
    case 'CallStarted': {
      const d = event.data;
      await tx.query(
        `insert into ll_calls (tenant_id, call_id, conversation_id, sequence, kind, media, status,
           started_by, started_at, ring_until, ringing, participants)
         values ($1, $2, $3, $4, $5, $6, 'ringing', $7, $8, $9, $10, $11)
         on conflict do nothing`,
        [
          t,
          c,
          d.conversationId,
          parseCallId(c)?.sequence ?? 0,
          d.kind,
          d.media,
          d.initiator.userId,
          at,
          d.ringUntil,
          d.ringing,
          [d.initiator.userId],
        ],
      );
      await upsertDevice(tx, t, c, d.initiator.userId, d.initiator.deviceId, d.initiator.role, at);
      break;
    }
    case 'CallDeclined':
      await tx.query(
        `update ll_calls set ringing = array_remove(ringing, $3) where tenant_id = $1 and call_id = $2`,
        [t, c, event.data.userId],
      );
      break;
    case 'ParticipantJoined': {
      const { userId, deviceId, role } = event.data;
      await upsertDevice(tx, t, c, userId, deviceId, role, at);
      await tx.query(
        `update ll_calls set
           ringing = array_remove(ringing, $3),
           participants = case when $3 = any(participants) then participants
                               else participants || array[$3::text] end,
           answered_at = case when answered_at is null and started_by <> $3 then $4::timestamptz
                              else answered_at end,
           status = case when status = 'ringing' and started_by <> $3 then 'active' else status end
         where tenant_id = $1 and call_id = $2`,
        [t, c, userId, at],
      );
      break;
    }
    case 'ParticipantLeft':
      await tx.query(
        `delete from ll_call_devices
         where tenant_id = $1 and call_id = $2 and user_id = $3 and device_id = $4`,
        [t, c, event.data.userId, event.data.deviceId],
      );
      break;
    case 'ParticipantDisconnected':
    case 'ParticipantReconnected':
      await tx.query(
        `update ll_call_devices set grace_until = $5
         where tenant_id = $1 and call_id = $2 and user_id = $3 and device_id = $4`,
        [
          t,
          c,
          event.data.userId,
          event.data.deviceId,
          event.type === 'ParticipantDisconnected' ? event.data.graceUntil : null,
        ],
      );
      break;
    case 'RingingStopped':
      await tx.query(`update ll_calls set ringing = '{}' where tenant_id = $1 and call_id = $2`, [
        t,
        c,
      ]);
      break;
    case 'CallEnded':
      await tx.query(
        `update ll_calls set status = 'ended', ended_at = $3, outcome = $4, duration_ms = $5,
           participants = $6, ringing = '{}'
         where tenant_id = $1 and call_id = $2`,
        [t, c, at, event.data.outcome, event.data.durationMs, event.data.participants],
      );
      await tx.query(`delete from ll_call_devices where tenant_id = $1 and call_id = $2`, [t, c]);
      break;
    case 'MediaSessionEnded':
    case 'MediaEngineFailed':
      return; // audit facts: in the stream and the audit log, not in the call's state
  }
  await tx.query(
    `update ll_calls k set next_deadline = case when k.status = 'ended' then null else
       (select min(x) from (
          select k.ring_until as x where k.status = 'ringing' or cardinality(k.ringing) > 0
          union all
          select d.grace_until from ll_call_devices d
          where d.tenant_id = k.tenant_id and d.call_id = k.call_id and d.grace_until is not null
        ) due) end
     where k.tenant_id = $1 and k.call_id = $2`,
    [t, c],
  );
}

async function upsertDevice(
  tx: SqlExecutor,
  tenantId: string,
  callId: string,
  userId: string,
  deviceId: string,
  role: string,
  at: string,
): Promise<void> {
  await tx.query(
    `insert into ll_call_devices (tenant_id, call_id, user_id, device_id, role, joined_at)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (tenant_id, call_id, user_id, device_id) do update set grace_until = null`,
    [tenantId, callId, userId, deviceId, role, at],
  );
}
