import type { SqlExecutor } from '@ledgerline/database';
import type { Actor, GlobalPosition } from '@ledgerline/kernel';
import type { ConversationEvent, MessageSent } from '../domain/conversation.events';

/** One conversation event as a projection sees it. */
export interface ProjectedEvent {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  readonly recordedAt: Date;
  /** The clear metadata's actor (known even when the payload is not). */
  readonly actor: Actor | undefined;
  readonly type: string;
  /**
   * The decided event, or undefined when its data key was shredded before it was projected: then
   * nothing it said is known, and projections skip it. (Rows made from it earlier stay, and their
   * text, opened at query time, shows as unavailable.)
   */
  readonly event: ConversationEvent | undefined;
}

/**
 * A read model fed by the conversation streams. `apply` runs inside the transaction that also
 * records the stream's revision as applied, so each event takes effect exactly once however often
 * it is delivered; it must only use `tx` (and the event), never the clock or other reads, so a
 * rebuild produces the same rows as the live run.
 */
export interface ConversationProjection {
  /** Stable name: the checkpoint's and `ledgerline projections rebuild <name>`'s. */
  readonly name: string;
  /** The tables it owns, emptied by a rebuild. */
  readonly tables: readonly string[];
  apply(tx: SqlExecutor, event: ProjectedEvent): Promise<void>;
  /**
   * Optional: `apply` for a run of messages sent one after another (nothing else between them in
   * the batch), in one statement per table: the same rows as `apply` on each in turn.
   */
  applySent?(tx: SqlExecutor, run: readonly SentMessage[]): Promise<void>;
}

/** A message sent, as the projections see it (its data key not shredded). */
export type SentMessage = ProjectedEvent & { readonly event: MessageSent };

export function isSentMessage(p: ProjectedEvent): p is SentMessage {
  return p.event?.type === 'MessageSent';
}

/** The `$all` position as the two columns read models store it. */
export function positionParams(position: GlobalPosition): [string, string] {
  return [position.commit.toString(), position.prepare.toString()];
}
