import { InvalidConversationInput } from '../../domain/conversation.errors';
import type { ConversationAsOf, ReplayedContent } from '../../domain/conversation.replay';

/** Longest reason an auditor may state for reading content. */
export const MAX_CONTENT_REASON_CHARS = 500;

/**
 * The reason an auditor states for reading a conversation's content (permission `audit.content`):
 * undefined when none was given (the answer is then metadata only). It is kept in the access
 * record and shown in the audit log, so it names a case or a request, not a patient.
 */
export function parseContentReason(value: string | null | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const reason = value.trim();
  if (reason.length === 0) throw new InvalidConversationInput('contentReason', 'empty');
  if ([...reason].length > MAX_CONTENT_REASON_CHARS) {
    throw new InvalidConversationInput('contentReason', 'too_long', MAX_CONTENT_REASON_CHARS);
  }
  if (/\p{Cc}/u.test(reason)) {
    throw new InvalidConversationInput('contentReason', 'control_character');
  }
  return reason;
}

/**
 * A replayed conversation as the minimum-necessary rule lets an auditor see it by default: who
 * was in it, who wrote, edited, redacted and reacted, and when; no text, title, redaction reason
 * or emoji (those are `withheld`, or left out).
 */
export function withoutContent(c: ConversationAsOf): ConversationAsOf {
  return {
    ...c,
    title: c.title === undefined ? undefined : withheld(c.title),
    messages: c.messages.map((m) => ({
      ...m,
      content: withheld(m.content),
      versions: m.versions.map((v) => ({ ...v, content: withheld(v.content) })),
      redaction:
        m.redaction === undefined
          ? undefined
          : {
              at: m.redaction.at,
              ...(m.redaction.byId === undefined ? {} : { byId: m.redaction.byId }),
              ...(m.redaction.byKind === undefined ? {} : { byKind: m.redaction.byKind }),
            },
      // An emoji is what a member wrote: reactions are content.
      reactions: [],
      reactionsIncomplete: false,
    })),
  };
}

function withheld(content: ReplayedContent): ReplayedContent {
  return content.status === 'available' ? { status: 'withheld' } : content;
}
