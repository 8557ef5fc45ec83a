import type { ConversationState } from '../domain/conversation.state';

export interface ConversationSnapshotRecord {
  readonly state: ConversationState;
  readonly revision: bigint;
}

/** Why a stored snapshot was passed over (the caller then rebuilds from events). */
export type SnapshotProblem = 'unsupported_version' | 'key_unavailable' | 'tampered' | 'malformed';

/**
 * Snapshots of conversation state, so a long stream is not re-read from its first event.
 *
 * Every adapter guarantees:
 * - `save` keeps one snapshot per stream, the newest: an older revision never replaces a newer one.
 * - What rests is sealed under the stream's own data key (same tenant KEK, epochs and shredding as
 *   its events). The state holds no message text, title or reason, but it does hold emoji and
 *   client-chosen ids, which a user may have typed, so it is treated like a payload.
 * - `load` answers `undefined` — never a wrong state — for a snapshot it cannot use: another format
 *   version, a key that is shredded or gone, a seal that does not authenticate. Database and key
 *   provider outages still throw (retryable), since rebuilding from events would need them too.
 */
export interface ConversationSnapshotStore {
  load(tenantId: string, streamId: string): Promise<ConversationSnapshotRecord | undefined>;
  save(
    tenantId: string,
    streamId: string,
    revision: bigint,
    state: ConversationState,
  ): Promise<void>;
}
