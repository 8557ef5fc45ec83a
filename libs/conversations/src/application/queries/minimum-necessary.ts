import type { ConversationAsOf, ReplayedContent } from '../../domain/conversation.replay';

// The reason an auditor states for content is checked by libs/audit (AuditorReplay) before the
// replay is asked for it.

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
