import { createHash } from 'node:crypto';
import { InvalidConversationInput } from './conversation.errors';
import {
  assertConversationId,
  assertTenantId,
  isValidConversationId,
  isValidTenantId,
} from './conversation.validation';

export const CONVERSATION_STREAM_CATEGORY = 'conversation';

/** The one stream of a conversation: `conversation:<tenantId>:<conversationId>`. */
export function conversationStreamId(tenantId: string, conversationId: string): string {
  assertTenantId('tenantId', tenantId);
  assertConversationId('conversationId', conversationId);
  return `${CONVERSATION_STREAM_CATEGORY}:${tenantId}:${conversationId}`;
}

/** The tenant and conversation of a conversation stream id; undefined for any other stream. */
export function parseConversationStreamId(
  streamId: string,
): { tenantId: string; conversationId: string } | undefined {
  const [category, tenantId, conversationId, ...rest] = streamId.split(':');
  if (category !== CONVERSATION_STREAM_CATEGORY || rest.length > 0) return undefined;
  if (tenantId === undefined || !isValidTenantId(tenantId)) return undefined;
  if (conversationId === undefined || !isValidConversationId(conversationId)) return undefined;
  return { tenantId, conversationId };
}

/**
 * The id of the one direct conversation between two members of a tenant: a UUID (version 8,
 * RFC 9562) from SHA-256 of the tenant and the sorted pair, so either member, any node and any
 * retry find the same stream.
 */
export function directConversationId(tenantId: string, memberA: string, memberB: string): string {
  assertTenantId('tenantId', tenantId);
  if (memberA === memberB) throw new InvalidConversationInput('participants', 'duplicate');
  const pair = [memberA, memberB].sort();
  // JSON keeps the encoding unambiguous whatever characters the ids hold.
  const digest = createHash('sha256')
    .update(JSON.stringify(['ledgerline/direct-conversation/v1', tenantId, ...pair]))
    .digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
