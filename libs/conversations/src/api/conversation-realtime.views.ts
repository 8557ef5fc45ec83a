import { encodePosition, type GlobalPosition } from '@ledgerline/kernel';
import type { ReplyFields } from '@ledgerline/realtime';
import type { ConversationCommandResult } from '../application/conversation-commands.handler';
import type { ConversationEvent } from '../domain/conversation.events';
import { toConversationEventPayload } from './conversation-views';

// What realtime clients see of a conversation's events and of the commands' outcomes.

/** An event as one realtime `event` frame shows it. */
export interface RealtimeEventSource {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly eventId: string;
  readonly position: GlobalPosition;
  readonly revision: bigint;
  /** Undefined when its data key was shredded: the frame then says `Unavailable`, nothing more. */
  readonly event: ConversationEvent | undefined;
  /** Another lib's event in the conversation's stream: the frame says `Other` and its type. */
  readonly otherType?: string;
}

/**
 * The fields of an `event` frame: where the event is (conversation, event id, global position,
 * stream revision) and what a member may see of it, exactly as the GraphQL subscription shows it
 * (no redaction reason, nothing of a shredded event), without the empty fields.
 */
export function realtimeEventFields(source: RealtimeEventSource, catchUp: boolean): ReplyFields {
  const where = {
    conversationId: source.conversationId,
    eventId: source.eventId,
    position: encodePosition(source.position),
    revision: Number(source.revision),
    ...(catchUp ? { catchUp: true } : {}),
  };
  if (source.event === undefined) {
    return source.otherType === undefined
      ? { ...where, kind: 'Unavailable' }
      : { ...where, kind: 'Other', eventType: source.otherType };
  }
  const payload = toConversationEventPayload({ ...source, event: source.event });
  const details: Record<string, ReplyFields[string]> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (value === null || value === undefined || key in where) continue;
    details[key] = value instanceof Date ? value.toISOString() : (value as ReplyFields[string]);
  }
  return { ...where, ...details };
}

/** The reply to a command other than a send: what was appended, where. */
export function realtimeAck(result: ConversationCommandResult): ReplyFields {
  return {
    conversationId: result.conversationId,
    eventIds: [...result.eventIds],
    eventId: result.eventIds[result.eventIds.length - 1] ?? null,
    position: result.position === undefined ? null : encodePosition(result.position),
    revision: Number(result.revision),
    changed: result.eventIds.length > 0,
  };
}
