/** Streams of calls: `call:<tenantId>:<callId>`, one per call. */
export const CALL_STREAM_CATEGORY = 'call';
export const CALL_STREAM_PREFIX = `${CALL_STREAM_CATEGORY}:`;

/** A conversation id, as libs/conversations accepts it. */
export const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/**
 * A call id is `<conversationId>.<sequence>`: the n-th call of the conversation. The sequence is
 * what makes "one active call per conversation" strict across nodes: call n+1 is only started
 * after call n was found ended, and two nodes starting the same n race on the same stream, where
 * the event store's expected revision lets exactly one win.
 */
export const CALL_ID = /^([A-Za-z0-9][A-Za-z0-9_-]{0,99})\.(0|[1-9][0-9]{0,8})$/;

export function callId(conversationId: string, sequence: number): string {
  return `${conversationId}.${sequence}`;
}

/** The conversation and sequence a call id names, or undefined when it is not one. */
export function parseCallId(
  id: string,
): { readonly conversationId: string; readonly sequence: number } | undefined {
  const match = typeof id === 'string' ? CALL_ID.exec(id) : null;
  if (!match) return undefined;
  return { conversationId: match[1]!, sequence: Number(match[2]) };
}

export function callStreamId(tenantId: string, id: string): string {
  return `${CALL_STREAM_PREFIX}${tenantId}:${id}`;
}

/** The stream whose data keys seal a call's signals (shredding the call's keys covers them). */
export function signalStreamId(tenantId: string, callId: string): string {
  return `call-signal:${tenantId}:${callId}`;
}
