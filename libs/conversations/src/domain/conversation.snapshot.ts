import { z } from 'zod';
import { InvalidConversationInput } from './conversation.errors';
import { MEMBER_ROLES, type MemberRole } from './conversation.events';
import {
  clientMessageKey,
  deviceKey,
  initialConversationState,
  type ConversationState,
  type DeliveryMark,
  type MessageState,
} from './conversation.state';

/**
 * Snapshots of conversation state: plain JSON (maps become arrays), tagged with a schema version.
 * A snapshot of another version is refused, and the caller rebuilds the state from the events.
 */
export const CONVERSATION_SNAPSHOT_VERSION = 1;

const count = z.number().int().nonnegative();
const sequence = z.number().int().positive();

const messageSchema = z.object({
  id: z.string(),
  sequence,
  authorId: z.string(),
  clientMessageId: z.string(),
  threadRootId: z.string().optional(),
  /** Absent in snapshots written before sends were fingerprinted (they still load). */
  sendFingerprint: z.string().optional(),
  redacted: z.literal(true).optional(),
  editCount: count.optional(),
  /** Member id → emoji, for members with at least one reaction. */
  reactions: z.array(z.tuple([z.string(), z.array(z.string())])).optional(),
});

const conversationSchema = z.object({
  tenantId: z.string(),
  conversationId: z.string(),
  kind: z.enum(['direct', 'group']),
  archived: z.boolean(),
  lastSequence: count,
  members: z.array(
    z.object({
      id: z.string(),
      kind: z.enum(['user', 'agent']),
      role: z.enum(MEMBER_ROLES as [MemberRole, ...MemberRole[]]),
    }),
  ),
  messages: z.array(messageSchema),
  /** [member id, sequence]. */
  readUpTo: z.array(z.tuple([z.string(), sequence])),
  /** [member id, device id, sequence]. */
  deliveredUpTo: z.array(z.tuple([z.string(), z.string(), sequence])),
});

const snapshotSchema = z.object({
  snapshotVersion: z.literal(CONVERSATION_SNAPSHOT_VERSION),
  conversation: conversationSchema.nullable(),
});

export type ConversationSnapshot = z.infer<typeof snapshotSchema>;

export function serializeConversationState(state: ConversationState): ConversationSnapshot {
  if (!state.exists) return { snapshotVersion: CONVERSATION_SNAPSHOT_VERSION, conversation: null };
  return {
    snapshotVersion: CONVERSATION_SNAPSHOT_VERSION,
    conversation: {
      tenantId: state.tenantId,
      conversationId: state.conversationId,
      kind: state.kind,
      archived: state.archived,
      lastSequence: state.lastSequence,
      members: [...state.members.values()].map((m) => ({ id: m.id, kind: m.kind, role: m.role })),
      messages: [...state.messages].map(([id, m]) => ({
        id,
        sequence: m.sequence,
        authorId: m.authorId,
        clientMessageId: m.clientMessageId,
        ...(m.threadRootId === undefined ? {} : { threadRootId: m.threadRootId }),
        ...(m.sendFingerprint === undefined ? {} : { sendFingerprint: m.sendFingerprint }),
        ...(m.redacted ? { redacted: true as const } : {}),
        ...(m.editCount === 0 ? {} : { editCount: m.editCount }),
        ...(m.reactions.size === 0
          ? {}
          : {
              reactions: [...m.reactions].map(([memberId, emoji]): [string, string[]] => [
                memberId,
                [...emoji],
              ]),
            }),
      })),
      readUpTo: [...state.readUpTo],
      deliveredUpTo: [...state.deliveredUpTo.values()].map((d) => [
        d.memberId,
        d.deviceId,
        d.sequence,
      ]),
    },
  };
}

/** The state a snapshot holds. Throws `InvalidConversationInput` for any other version or shape. */
export function deserializeConversationState(snapshot: unknown): ConversationState {
  const version = (snapshot as { snapshotVersion?: unknown } | null)?.snapshotVersion;
  if (version !== CONVERSATION_SNAPSHOT_VERSION) {
    throw new InvalidConversationInput('snapshot', 'unsupported_version');
  }
  const parsed = snapshotSchema.safeParse(snapshot);
  if (!parsed.success) throw new InvalidConversationInput('snapshot', 'invalid_format');
  const c = parsed.data.conversation;
  if (c === null) return initialConversationState();
  const messages = new Map<string, MessageState>();
  const messageIdsByClientId = new Map<string, string>();
  for (const m of c.messages) {
    messages.set(m.id, {
      sequence: m.sequence,
      authorId: m.authorId,
      clientMessageId: m.clientMessageId,
      ...(m.threadRootId === undefined ? {} : { threadRootId: m.threadRootId }),
      ...(m.sendFingerprint === undefined ? {} : { sendFingerprint: m.sendFingerprint }),
      redacted: m.redacted ?? false,
      editCount: m.editCount ?? 0,
      reactions: new Map(
        (m.reactions ?? []).map(([memberId, emoji]) => [memberId, new Set(emoji)]),
      ),
    });
    messageIdsByClientId.set(clientMessageKey(m.authorId, m.clientMessageId), m.id);
  }
  return {
    exists: true,
    tenantId: c.tenantId,
    conversationId: c.conversationId,
    kind: c.kind,
    archived: c.archived,
    lastSequence: c.lastSequence,
    members: new Map(c.members.map((m) => [m.id, m])),
    messages,
    messageIdsByClientId,
    readUpTo: new Map(c.readUpTo),
    deliveredUpTo: new Map(
      c.deliveredUpTo.map(([memberId, deviceId, seq]): [string, DeliveryMark] => [
        deviceKey(memberId, deviceId),
        { memberId, deviceId, sequence: seq },
      ]),
    ),
  };
}
