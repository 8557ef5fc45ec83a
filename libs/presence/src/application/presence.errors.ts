import {
  ConflictError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
} from '@ledgerline/kernel';

/**
 * The caller may not see this user's presence: they share no conversation (or it is another
 * tenant's user, or no such user exists). One answer for all of these, so a caller learns nothing
 * about whether the user exists. NOT_FOUND at the edge, `reason: presence_not_visible`.
 */
export class PresenceNotVisibleError extends NotFoundError {
  override readonly code = 'presence_not_visible';
  constructor(readonly userId: string) {
    super(`presence of ${userId} is not visible to the caller`);
  }
}

/**
 * The caller is not a member of the conversation they type in or watch: it does not exist in the
 * caller's tenant, or they are not in it. One answer for both, the conversations' own
 * (`conversation_not_found`, NOT_FOUND at the edge), so typing reveals no more than a read would.
 */
export class TypingConversationNotFoundError extends NotFoundError {
  override readonly code = 'conversation_not_found';
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} not found`);
  }
}

/** Typing indicators came faster than allowed for this user and conversation. RATE_LIMITED. */
export class TypingRateLimitedError extends RateLimitedError {
  override readonly code = 'typing_rate_limited';
  constructor(
    readonly conversationId: string,
    retryAfterMs: number,
  ) {
    super(
      `typing indicators in conversation ${conversationId} are rate limited; retry in ${retryAfterMs} ms`,
      retryAfterMs,
    );
  }
}

/** Other nodes kept changing the user's presence while this one retried. Safe to retry. */
export class PresenceBusyError extends ConflictError {
  override readonly code = 'presence_busy';
  override readonly retryable = true;
  constructor(readonly attempts: number) {
    super(`presence still contended after ${attempts} attempts`);
  }
}

/** No watcher receives changes before the node's subscription has found the end of the log. */
export class PresenceEventsUnavailableError extends UnavailableError {
  override readonly code = 'presence_events_unavailable';
  constructor() {
    super('live presence changes are not available yet; subscribe again shortly');
  }
}
