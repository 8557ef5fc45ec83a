import {
  isConversationEventType,
  type ConversationEvent,
  openConversationEvent,
  parseConversationStreamId,
  CONVERSATION_STREAM_CATEGORY,
} from '@ledgerline/conversations';
import type { SqlExecutor } from '@ledgerline/database';
import type { OpenedEvent } from '@ledgerline/ledger';
import { inRuns, type Projection } from '@ledgerline/pipeline';
import { openPushEvent } from '../application/push-events.codec';
import { PUSH_STREAM_PREFIX } from '../domain/push-stream';

export const PUSH_PROJECTION = 'push';

export interface PushProjectionOptions {
  /**
   * A message older than this when it is projected (a rebuild, a replay, a processor far behind)
   * is not pushed: a phone ringing for it would be noise. Default one hour.
   */
  readonly maxEventAgeMs?: number;
}

/**
 * The push projection, on the one ProjectionProcessor: devices, mutes and do-not-disturb from the
 * users' push streams, and each conversation's members from its stream (its own copy, so `apply`
 * reads only its own tables); and for every new message, the outbox rows of the devices that get a
 * push: every member's but the sender's, not where the member muted the conversation or is in
 * do-not-disturb at the message's time. Whether the member is online is asked when sending (it is
 * about then, not about the message).
 *
 * The outbox is not among its rebuildable `tables`: a blue/green rebuild writes the read models in
 * their new schema and the outbox in place, and pushes only messages younger than `maxEventAgeMs`.
 */
export function pushProjection(options: PushProjectionOptions = {}): Projection {
  const maxAgeSeconds = Math.round((options.maxEventAgeMs ?? 3_600_000) / 1000);
  const apply = async (tx: SqlExecutor, opened: OpenedEvent): Promise<void> => {
    if (opened.streamId.startsWith(PUSH_STREAM_PREFIX)) await applyPushEvent(tx, opened);
    else await applyConversationEvent(tx, opened, maxAgeSeconds);
  };
  return {
    name: PUSH_PROJECTION,
    streamPrefixes: [PUSH_STREAM_PREFIX, `${CONVERSATION_STREAM_CATEGORY}:`],
    tables: ['ll_push_devices', 'll_push_mutes', 'll_push_dnd', 'll_push_members'],
    apply,
    async applyBatch(tx, events) {
      // Runs of messages sent queue their pushes in one statement; everything else as `apply`.
      await inRuns(
        events.map((opened) => ({ opened, sent: sentMessageOf(opened) })),
        (e): e is { opened: OpenedEvent; sent: SentMessage } => e.sent !== undefined,
        (run) => queuePushes(tx, run, maxAgeSeconds),
        ({ opened }) => apply(tx, opened),
      );
    },
  };
}

interface SentMessage {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly event: Extract<ConversationEvent, { type: 'MessageSent' }>;
}

/** The message a conversation event sends; undefined for anything else (or a shredded one). */
function sentMessageOf(opened: OpenedEvent): SentMessage | undefined {
  if (opened.type !== 'MessageSent' || opened.streamId.startsWith(PUSH_STREAM_PREFIX)) return;
  const ids = parseConversationStreamId(opened.streamId);
  if (!ids || ids.tenantId !== opened.tenantId) return;
  const event = openConversationEvent(opened);
  if (event?.type !== 'MessageSent') return;
  return { tenantId: ids.tenantId, conversationId: ids.conversationId, event };
}

/**
 * The outbox rows of messages sent, in one statement: every member's device but the sender's, not
 * where the member muted the conversation or is in do-not-disturb at the message's time; one row
 * per device and conversation while it waits (the first message names the push and its time, the
 * last is its last event, any mention makes it a mention), as one message at a time would leave.
 */
async function queuePushes(
  tx: SqlExecutor,
  run: readonly { readonly opened: OpenedEvent; readonly sent: SentMessage }[],
  maxAgeSeconds: number,
): Promise<void> {
  const rows = run.map(({ opened, sent }, ord) => ({
    ord,
    tenant_id: sent.tenantId,
    conversation_id: sent.conversationId,
    author_id: sent.event.data.actor.id,
    event_id: opened.eventId,
    mentions: sent.event.data.mentions,
    at: sent.event.data.at,
  }));
  await tx.query(
    `insert into ll_push_outbox (push_id, tenant_id, device_id, user_id, conversation_id, kind,
       event_count, first_event_id, last_event_id, event_at, next_attempt_at)
     select md5(d.device_id::text || (array_agg(e.event_id order by e.ord))[1])::uuid,
       d.tenant_id, d.device_id, d.user_id, e.conversation_id,
       case when bool_or(d.user_id = any(e.mentions)) then 'mention' else 'message' end,
       count(*), (array_agg(e.event_id order by e.ord))[1]::uuid,
       (array_agg(e.event_id order by e.ord desc))[1]::uuid,
       (array_agg(e.at order by e.ord))[1], (array_agg(e.at order by e.ord))[1]
     from jsonb_to_recordset($1::jsonb) as e(ord integer, tenant_id text, conversation_id text,
       author_id text, event_id text, mentions text[], at timestamptz)
     join ll_push_members m on m.tenant_id = e.tenant_id and m.conversation_id = e.conversation_id
       and m.member_id <> e.author_id
     join ll_push_devices d on d.tenant_id = m.tenant_id and d.user_id = m.member_id
     where e.at > now() - make_interval(secs => $2)
       and not exists (
         select 1 from ll_push_mutes u
         where u.tenant_id = m.tenant_id and u.user_id = m.member_id
           and u.conversation_id = m.conversation_id and (u.until is null or u.until > e.at))
       and not exists (
         select 1 from ll_push_dnd n
         where n.tenant_id = m.tenant_id and n.user_id = m.member_id
           and (n.until is null or n.until > e.at))
     group by d.tenant_id, d.device_id, d.user_id, e.conversation_id
     on conflict (tenant_id, device_id, conversation_id) where lease_until is null
     do update set event_count = ll_push_outbox.event_count + excluded.event_count,
       last_event_id = excluded.last_event_id,
       kind = case when excluded.kind = 'mention' then 'mention' else ll_push_outbox.kind end`,
    [JSON.stringify(rows), maxAgeSeconds],
  );
}

async function applyPushEvent(tx: SqlExecutor, opened: OpenedEvent): Promise<void> {
  const event = openPushEvent(opened);
  if (!event || event.data.tenantId !== opened.tenantId) return;
  const { tenantId, userId } = event.data;
  switch (event.type) {
    case 'PushDeviceRegistered':
      // The newest registration of a token wins: a shared phone signed in by another user is
      // theirs from now on, and the previous user's messages stop ringing it.
      await tx.query(
        `insert into ll_push_devices (tenant_id, device_id, user_id, platform, environment, app_id,
           token_stream_id, token_revision, registered_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (tenant_id, device_id) do update set user_id = excluded.user_id,
           platform = excluded.platform, environment = excluded.environment,
           app_id = excluded.app_id, token_stream_id = excluded.token_stream_id,
           token_revision = excluded.token_revision, registered_at = excluded.registered_at`,
        [
          tenantId,
          event.data.deviceId,
          userId,
          event.data.platform,
          event.data.environment,
          event.data.appId,
          opened.streamId,
          opened.revision.toString(),
          event.data.at,
        ],
      );
      // Pushes queued for the device's previous user do not go to the new one.
      await tx.query(
        `delete from ll_push_outbox where tenant_id = $1 and device_id = $2 and user_id <> $3`,
        [tenantId, event.data.deviceId, userId],
      );
      return;
    case 'PushDeviceUnregistered':
      await tx.query(
        `delete from ll_push_devices where tenant_id = $1 and device_id = $2 and user_id = $3`,
        [tenantId, event.data.deviceId, userId],
      );
      await tx.query(
        `delete from ll_push_outbox where tenant_id = $1 and device_id = $2 and user_id = $3`,
        [tenantId, event.data.deviceId, userId],
      );
      return;
    case 'ConversationMuted':
      await tx.query(
        `insert into ll_push_mutes (tenant_id, user_id, conversation_id, until)
         values ($1, $2, $3, $4)
         on conflict (tenant_id, user_id, conversation_id) do update set until = excluded.until`,
        [tenantId, userId, event.data.conversationId, event.data.until],
      );
      return;
    case 'ConversationUnmuted':
      await tx.query(
        `delete from ll_push_mutes where tenant_id = $1 and user_id = $2 and conversation_id = $3`,
        [tenantId, userId, event.data.conversationId],
      );
      return;
    case 'DoNotDisturbSet':
      await tx.query(
        `insert into ll_push_dnd (tenant_id, user_id, until) values ($1, $2, $3)
         on conflict (tenant_id, user_id) do update set until = excluded.until`,
        [tenantId, userId, event.data.until],
      );
      return;
    case 'DoNotDisturbCleared':
      await tx.query(`delete from ll_push_dnd where tenant_id = $1 and user_id = $2`, [
        tenantId,
        userId,
      ]);
      return;
  }
}

async function applyConversationEvent(
  tx: SqlExecutor,
  opened: OpenedEvent,
  maxAgeSeconds: number,
): Promise<void> {
  if (!isConversationEventType(opened.type)) return;
  const ids = parseConversationStreamId(opened.streamId);
  if (!ids || ids.tenantId !== opened.tenantId) return;
  const event = openConversationEvent(opened);
  if (!event) return;
  const { tenantId, conversationId } = ids;
  const addMembers = (memberIds: readonly string[]) =>
    tx.query(
      `insert into ll_push_members (tenant_id, conversation_id, member_id)
       select $1, $2, unnest($3::text[]) on conflict do nothing`,
      [tenantId, conversationId, memberIds],
    );
  const removeMember = (memberId: string) =>
    tx.query(
      `delete from ll_push_members
       where tenant_id = $1 and conversation_id = $2 and member_id = $3`,
      [tenantId, conversationId, memberId],
    );
  switch (event.type) {
    case 'DirectConversationCreated':
    case 'GroupConversationCreated':
      await addMembers(event.data.members.map((m) => m.id));
      return;
    case 'MemberAdded':
      await addMembers([event.data.member.id]);
      return;
    case 'MemberRemoved':
    case 'MemberLeft':
      await removeMember(event.data.memberId);
      return;
    case 'MessageSent':
      await queuePushes(tx, [{ opened, sent: { tenantId, conversationId, event } }], maxAgeSeconds);
      return;
    default:
      return;
  }
}
