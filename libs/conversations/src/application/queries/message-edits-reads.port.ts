/** One version of a message: the original (0) or an edit, by reference to its sealed event. */
export interface MessageVersionRecord {
  readonly editNumber: number;
  /** Revision of the event holding this version's text. */
  readonly revision: bigint;
  readonly editedAt: Date;
  readonly editorId: string;
}

/**
 * Reads of the message-edits read model (projections/message-edits.projection.ts).
 *
 * Every adapter guarantees: one statement, scoped to the tenant and conversation it is given;
 * versions oldest first; none for a redacted message (the projection deletes them).
 */
export interface MessageEditsReads {
  versions(
    tenantId: string,
    conversationId: string,
    messageId: string,
  ): Promise<MessageVersionRecord[]>;
}
