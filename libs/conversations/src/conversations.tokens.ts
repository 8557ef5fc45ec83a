/**
 * ConversationMemberships (application/queries/conversation-memberships.port.ts) over the process's
 * database: ConversationsModule provides and exports it, for the fan-out, the realtime feed and
 * the app's wiring of other libs' membership ports.
 */
export const CONVERSATION_MEMBERSHIPS = Symbol('ConversationMemberships');
