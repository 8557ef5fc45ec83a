/** An add or remove of a reaction, by reference to the sealed event naming its emoji. */
export interface ReactionRecord {
  readonly revision: bigint;
  readonly memberId: string;
  /** Added (true) or removed (false). */
  readonly added: boolean;
}

/**
 * Reads of the reactions read model (projections/reactions.projection.ts).
 *
 * Every adapter guarantees: one statement, scoped to the tenant and conversation it is given;
 * records in revision order (the order to replay them in).
 */
export interface ReactionsReads {
  reactionsTo(
    tenantId: string,
    conversationId: string,
    messageId: string,
  ): Promise<ReactionRecord[]>;
}
