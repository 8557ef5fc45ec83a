import type { ReplayHints } from '../../domain/conversation.replay';

/**
 * Where a replay learns which message a shredded event was about. Every adapter guarantees: ids
 * only (never text), at most one entry per revision asked for, and an empty answer rather than an
 * error for revisions it does not know.
 */
export interface ReplayHintSource {
  hintsFor(
    tenantId: string,
    conversationId: string,
    revisions: readonly bigint[],
  ): Promise<ReplayHints>;
}
