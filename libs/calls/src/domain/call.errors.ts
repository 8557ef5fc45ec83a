import { ConflictError, NotFoundError } from '@ledgerline/kernel';

/** Why a call command was refused. Stable codes: the edges and clients match on them. */
export const CallRefusalReason = {
  /** The conversation has a call that has not ended. */
  CallInProgress: 'call_in_progress',
  /** The id names a call that already ended (the application moves on to the next id). */
  CallIdTaken: 'call_id_taken',
  CallEnded: 'call_ended',
  /** A direct call rings exactly one other member. */
  NotDirect: 'not_direct',
  /** Joining is for group calls; a direct call is accepted. */
  DirectCall: 'direct_call',
  NotInvited: 'not_invited',
  NotParticipant: 'not_participant',
  /** A signal to a device that is not in the call. */
  TargetNotInCall: 'target_not_in_call',
  AlreadyAnswered: 'already_answered',
  NotInitiator: 'not_initiator',
  CallFull: 'call_full',
  /** The principal's roles allow listening only. */
  ListenOnly: 'listen_only',
  /** Services administer; they take no part in calls. */
  NoParticipation: 'no_participation',
} as const;

export type CallRefusalReason = (typeof CallRefusalReason)[keyof typeof CallRefusalReason];

/** A call command the state does not allow. CONFLICT at the edges, with `reason`. */
export class CallRefused extends ConflictError {
  override readonly code = 'call_refused';
  constructor(readonly reason: CallRefusalReason) {
    super(`call: ${reason}`);
  }
}

/** No such call, or the caller is not a member of its conversation (the same answer). */
export class CallNotFoundError extends NotFoundError {
  override readonly code = 'call_not_found';
  constructor(callId: string) {
    super(`call ${callId} not found`);
  }
}

/** The caller is not a member of the conversation, or it does not exist (the same answer). */
export class CallConversationNotFoundError extends NotFoundError {
  override readonly code = 'conversation_not_found';
  constructor(conversationId: string) {
    super(`conversation ${conversationId} not found`);
  }
}
