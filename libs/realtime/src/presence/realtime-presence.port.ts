import type { Principal } from '@ledgerline/identity';

// What the gateway uses of libs/presence (PresenceService and TypingIndicators satisfy these
// structurally; the app binds them to REALTIME_PRESENCE and REALTIME_TYPING). Only the fields the
// protocol forwards are named here; the presence lib may carry more.

export interface PresenceChangeSignal {
  readonly tenantId: string;
  readonly userId: string;
  readonly status: 'online' | 'away' | 'offline';
  readonly lastSeenAt: Date | undefined;
}

export interface TypingSignalView {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly userId: string;
  readonly expiresAt: Date;
}

/**
 * Presence derived from connections on every node. Guarantees (libs/presence): a user goes offline
 * only after the grace period with no connection left on any node; `watch` hands over the changes
 * of users visible to the viewer only, from every node, until unsubscribed.
 */
export interface RealtimePresence {
  connectionOpened(principal: Principal, connectionId: string): Promise<void>;
  connectionClosed(principal: Principal, connectionId: string): Promise<void>;
  setStatus(principal: Principal, status: 'online' | 'away'): Promise<void>;
  watch(viewer: Principal, onChange: (change: PresenceChangeSignal) => void): () => void;
}

/**
 * Typing indicators: ephemeral (never stored), rate-limited (a typed RateLimitedError when
 * exceeded), membership-checked, expiring on their own; `watch` hands over signals in the
 * viewer's conversations, from every node, until unsubscribed.
 */
export interface RealtimeTyping {
  typing(principal: Principal, conversationId: string): Promise<TypingSignalView>;
  watch(viewer: Principal, onTyping: (signal: TypingSignalView) => void): () => void;
}
