import type { SqlExecutor } from '@ledgerline/database';
import type { Member } from '../domain/conversation.events';
import {
  positionParams,
  type ConversationProjection,
  type ProjectedEvent,
  type SentMessage,
} from './conversation-projection';

/**
 * Each member's conversations: kind, archived, the last message (by reference), unread count and
 * the `muted` flag. Unread counts messages by others after the member's read mark (or after they
 * joined, whichever is later), redacted ones excepted.
 *
 * `muted` is always false: the decider has no mute command yet. The column is here so the list's
 * shape does not change when one is added.
 */
export const conversationListProjection: ConversationProjection = {
  name: 'conversation-list',
  tables: ['ll_conv_list_conversations', 'll_conv_list_members', 'll_conv_list_messages'],
  async apply(tx: SqlExecutor, p: ProjectedEvent): Promise<void> {
    const e = p.event;
    if (!e) return;
    const key = [p.tenantId, p.conversationId];
    switch (e.type) {
      case 'DirectConversationCreated':
      case 'GroupConversationCreated': {
        await tx.query(
          `insert into ll_conv_list_conversations (tenant_id, conversation_id, kind, title_revision,
             created_at, activity_commit, activity_prepare)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing`,
          [
            ...key,
            e.type === 'DirectConversationCreated' ? 'direct' : 'group',
            e.type === 'GroupConversationCreated' ? p.revision.toString() : null,
            e.data.at,
            ...positionParams(p.position),
          ],
        );
        for (const member of e.data.members) await addMember(tx, key, member);
        return;
      }
      case 'MemberAdded':
        return addMember(tx, key, e.data.member);
      case 'MemberRemoved':
      case 'MemberLeft':
        await tx.query(
          'delete from ll_conv_list_members where tenant_id = $1 and conversation_id = $2 and member_id = $3',
          [...key, e.data.memberId],
        );
        return;
      case 'MemberRoleChanged':
        await tx.query(
          'update ll_conv_list_members set role = $4 where tenant_id = $1 and conversation_id = $2 and member_id = $3',
          [...key, e.data.memberId, e.data.to],
        );
        return;
      case 'ConversationRenamed':
        await tx.query(
          'update ll_conv_list_conversations set title_revision = $3 where tenant_id = $1 and conversation_id = $2',
          [...key, p.revision.toString()],
        );
        return;
      case 'ConversationArchived':
      case 'ConversationUnarchived':
        await tx.query(
          'update ll_conv_list_conversations set archived = $3 where tenant_id = $1 and conversation_id = $2',
          [...key, e.type === 'ConversationArchived'],
        );
        return;
      case 'MessageSent':
        return writeSent(tx, [{ ...p, event: e }]);
      case 'MessageEdited':
        await tx.query(
          `update ll_conv_list_conversations set last_message_text_revision = $4
           where tenant_id = $1 and conversation_id = $2 and last_message_id = $3`,
          [...key, e.data.messageId, p.revision.toString()],
        );
        return;
      case 'MessageRedacted': {
        const [message] = await tx.query<{ sequence: number; author_id: string }>(
          `update ll_conv_list_messages set redacted = true
           where tenant_id = $1 and conversation_id = $2 and message_id = $3 and not redacted
           returning sequence, author_id`,
          [...key, e.data.messageId],
        );
        await tx.query(
          `update ll_conv_list_conversations set last_message_redacted = true, last_message_text_revision = null
           where tenant_id = $1 and conversation_id = $2 and last_message_id = $3`,
          [...key, e.data.messageId],
        );
        if (message) {
          await tx.query(
            `update ll_conv_list_members set unread_count = unread_count - 1
             where tenant_id = $1 and conversation_id = $2 and member_id <> $3
               and greatest(read_up_to_sequence, joined_sequence) < $4`,
            [...key, message.author_id, message.sequence],
          );
        }
        return;
      }
      case 'MessagesRead':
        await tx.query(
          `update ll_conv_list_members m
           set read_up_to_sequence = greatest(m.read_up_to_sequence, $4),
               unread_count = (
                 select count(*) from ll_conv_list_messages x
                 where x.tenant_id = m.tenant_id and x.conversation_id = m.conversation_id
                   and x.sequence > greatest(m.read_up_to_sequence, $4, m.joined_sequence)
                   and x.author_id <> m.member_id and not x.redacted)
           where m.tenant_id = $1 and m.conversation_id = $2 and m.member_id = $3`,
          [...key, e.data.actor.id, e.data.upToSequence],
        );
        return;
      case 'ReactionAdded':
      case 'ReactionRemoved':
      case 'MessagesDelivered':
        return;
    }
  },
  applySent: writeSent,
};

async function addMember(tx: SqlExecutor, key: string[], member: Member): Promise<void> {
  // A member sees the history but is not owed the messages sent before they joined as unread.
  await tx.query(
    `insert into ll_conv_list_members (tenant_id, conversation_id, member_id, member_kind, role, joined_sequence)
     values ($1, $2, $3, $4, $5, coalesce((select last_sequence from ll_conv_list_conversations
       where tenant_id = $1 and conversation_id = $2), 0))
     on conflict (tenant_id, conversation_id, member_id) do update set member_kind = excluded.member_kind,
       role = excluded.role, joined_sequence = excluded.joined_sequence, read_up_to_sequence = 0,
       unread_count = 0, muted = false`,
    [...key, member.id, member.kind, member.role],
  );
}

/**
 * Messages sent, in one statement: their rows in the list's messages; per conversation, the run's
 * last message as its last (the highest sequence kept); and per member, one unread for each
 * message by someone else after their read mark (or join). A run holds no read marks or membership
 * changes, so the counts are those of one update per message. The three writes touch different
 * tables, so their common snapshot is the one each would have seen alone.
 */
async function writeSent(tx: SqlExecutor, run: readonly SentMessage[]): Promise<void> {
  const lastOf = new Map<string, { last: SentMessage; top: number }>();
  for (const p of run) {
    const key = `${p.tenantId}\u0000${p.conversationId}`;
    const top = Math.max(lastOf.get(key)?.top ?? 0, p.event.data.sequence);
    lastOf.set(key, { last: p, top });
  }
  const lasts = [...lastOf.values()];
  await tx.query(
    `with messages as (
       insert into ll_conv_list_messages (tenant_id, conversation_id, sequence, message_id, author_id)
       select * from unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[])
     ), lasts as (
       update ll_conv_list_conversations x set last_sequence = greatest(x.last_sequence, u.top),
         last_message_id = u.m, last_message_author_id = u.a, last_message_text_revision = u.r,
         last_message_redacted = false, last_message_at = u.at,
         activity_commit = u.cp, activity_prepare = u.pp
       from unnest($6::text[], $7::text[], $8::integer[], $9::text[], $10::text[], $11::bigint[],
         $12::timestamptz[], $13::numeric[], $14::bigint[]) as u(t, c, top, m, a, r, at, cp, pp)
       where x.tenant_id = u.t and x.conversation_id = u.c
     )
     update ll_conv_list_members x set unread_count = x.unread_count + n.count
     from (select m.tenant_id, m.conversation_id, m.member_id, count(*)::integer as count
           from unnest($1::text[], $2::text[], $5::text[], $3::integer[]) as u(t, c, a, s)
           join ll_conv_list_members m on m.tenant_id = u.t and m.conversation_id = u.c
             and m.member_id <> u.a and greatest(m.read_up_to_sequence, m.joined_sequence) < u.s
           group by m.tenant_id, m.conversation_id, m.member_id) n
     where x.tenant_id = n.tenant_id and x.conversation_id = n.conversation_id
       and x.member_id = n.member_id`,
    [
      run.map((p) => p.tenantId),
      run.map((p) => p.conversationId),
      run.map((p) => p.event.data.sequence),
      run.map((p) => p.event.data.messageId),
      run.map((p) => p.event.data.actor.id),
      lasts.map(({ last }) => last.tenantId),
      lasts.map(({ last }) => last.conversationId),
      lasts.map(({ top }) => top),
      lasts.map(({ last }) => last.event.data.messageId),
      lasts.map(({ last }) => last.event.data.actor.id),
      lasts.map(({ last }) => last.revision.toString()),
      lasts.map(({ last }) => last.event.data.at),
      lasts.map(({ last }) => last.position.commit.toString()),
      lasts.map(({ last }) => last.position.prepare.toString()),
    ],
  );
}
