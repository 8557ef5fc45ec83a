import type { SqlExecutor } from '@ledgerline/database';
import type {
  ConversationProjection,
  ProjectedEvent,
  SentMessage,
} from './conversation-projection';

/**
 * Messages in `$all` order (paged both ways by position), with thread links and reply counts, edit
 * and redaction state. `text_revision` points at the sealed event holding the current text (the
 * send or the latest edit); a redaction clears it, so no read ever opens redacted text again.
 */
export const messageHistoryProjection: ConversationProjection = {
  name: 'message-history',
  tables: ['ll_conv_messages'],
  async apply(tx: SqlExecutor, p: ProjectedEvent): Promise<void> {
    const e = p.event;
    if (!e) return;
    const key = [p.tenantId, p.conversationId];
    switch (e.type) {
      case 'MessageSent':
        return writeSent(tx, [{ ...p, event: e }]);
      case 'MessageEdited':
        await tx.query(
          `update ll_conv_messages set text_revision = $4, edit_count = $5, edited_at = $6
           where tenant_id = $1 and conversation_id = $2 and message_id = $3 and not redacted`,
          [...key, e.data.messageId, p.revision.toString(), e.data.editNumber, e.data.at],
        );
        return;
      case 'MessageRedacted':
        await tx.query(
          `update ll_conv_messages set redacted = true, redacted_at = $4, redacted_by = $5, text_revision = null
           where tenant_id = $1 and conversation_id = $2 and message_id = $3`,
          [...key, e.data.messageId, e.data.at, e.data.actor.id],
        );
        return;
      case 'DirectConversationCreated':
      case 'GroupConversationCreated':
      case 'MemberAdded':
      case 'MemberRemoved':
      case 'MemberLeft':
      case 'MemberRoleChanged':
      case 'ConversationRenamed':
      case 'ConversationArchived':
      case 'ConversationUnarchived':
      case 'ReactionAdded':
      case 'ReactionRemoved':
      case 'MessagesDelivered':
      case 'MessagesRead':
        return;
    }
  },
  applySent: writeSent,
};

/** Messages sent, in one insert (and one update of the roots their replies count on). */
async function writeSent(tx: SqlExecutor, run: readonly SentMessage[]): Promise<void> {
  await tx.query(
    `insert into ll_conv_messages (tenant_id, conversation_id, message_id, revision, commit_position,
         prepare_position, sequence, author_id, author_kind, thread_root_id, sent_at, text_revision)
       select t, c, m, r, cp, pp, s, a, ak, th, at, r
       from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::numeric[], $6::bigint[],
         $7::integer[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
         as u(t, c, m, r, cp, pp, s, a, ak, th, at)`,
    [
      run.map((p) => p.tenantId),
      run.map((p) => p.conversationId),
      run.map((p) => p.event.data.messageId),
      run.map((p) => p.revision.toString()),
      run.map((p) => p.position.commit.toString()),
      run.map((p) => p.position.prepare.toString()),
      run.map((p) => p.event.data.sequence),
      run.map((p) => p.event.data.actor.id),
      run.map((p) => p.event.data.actor.kind),
      run.map((p) => p.event.data.threadRootId ?? null),
      run.map((p) => p.event.data.at),
    ],
  );
  const replies = run.filter((p) => p.event.data.threadRootId !== undefined);
  if (replies.length === 0) return;
  // Each reply adds one to its root's count; the last reply of the run sets its time.
  await tx.query(
    `update ll_conv_messages x set reply_count = x.reply_count + r.n, last_reply_at = r.at
       from (select t, c, root, count(*)::integer as n, (array_agg(at order by ord desc))[1] as at
             from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
               with ordinality as u(t, c, root, at, ord)
             group by t, c, root) r
       where x.tenant_id = r.t and x.conversation_id = r.c and x.message_id = r.root`,
    [
      replies.map((p) => p.tenantId),
      replies.map((p) => p.conversationId),
      replies.map((p) => p.event.data.threadRootId!),
      replies.map((p) => p.event.data.at),
    ],
  );
}
