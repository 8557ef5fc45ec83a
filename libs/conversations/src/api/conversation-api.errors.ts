import { Catch, type ArgumentsHost } from '@nestjs/common';
import { GqlArgumentsHost, type GqlExceptionFilter } from '@nestjs/graphql';
import type { EdgeContext } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ConflictError, NotFoundError } from '@ledgerline/kernel';
import {
  ConversationShreddedError,
  MessageNotFoundError,
  NotAConversationMemberError,
} from '../application/conversations.errors';
import { ConversationRefusalReason, ConversationRefused } from '../domain/conversation.errors';
import { parseConversationStreamId } from '../domain/stream-ids';

/**
 * The conversation does not exist for the caller: it was never created in the caller's tenant, or
 * the caller is not a member. One answer for both, so a non-member (or another tenant) learns
 * nothing about a conversation id. The edge answers NOT_FOUND (`reason: conversation_not_found`).
 */
export class ConversationNotFoundError extends NotFoundError {
  override readonly code = 'conversation_not_found';
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} not found`);
  }
}

/** The conversation's keys were shredded: it can no longer change. CONFLICT at the edge. */
export class ConversationGoneError extends ConflictError {
  override readonly code = 'conversation_shredded';
  readonly reason = 'conversation_shredded';
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} can no longer be changed: its keys were shredded`);
  }
}

/**
 * Turns what the conversation handlers throw into what the GraphQL edge should say. Everything not
 * named here passes through: the edge maps Ledgerline errors by kind (validation → BAD_USER_INPUT,
 * conflict → CONFLICT with the refusal's reason, …) and anything else to INTERNAL.
 */
export function toEdgeError(error: unknown, principal: Principal | undefined): unknown {
  if (error instanceof NotAConversationMemberError) {
    return new ConversationNotFoundError(error.conversationId);
  }
  if (error instanceof ConversationRefused) {
    switch (error.reason) {
      case ConversationRefusalReason.ConversationNotFound:
        return new ConversationNotFoundError(error.conversationId);
      case ConversationRefusalReason.NotAMember:
        // A user or agent who is not a member may not learn the conversation exists; a service is
        // never a member, and may know it does (it reads its tenant's conversations).
        return principal?.kind === 'service'
          ? error
          : new ConversationNotFoundError(error.conversationId);
      case ConversationRefusalReason.MessageNotFound:
        return new MessageNotFoundError(error.conversationId, error.messageId ?? '');
      default:
        return error;
    }
  }
  if (error instanceof ConversationShreddedError) {
    return new ConversationGoneError(
      parseConversationStreamId(error.streamId)?.conversationId ?? '',
    );
  }
  return error;
}

/**
 * The conversation resolvers' exception filter: translates (toEdgeError) and hands the error back
 * to GraphQL, where the edge formats it and reports an unexpected one under an error id (class
 * names and stack frames, never its message). Without it Nest's default handler would also log
 * every refusal and bad input as an error, message and stack included.
 *
 * Nest applies filters to queries, mutations and subscriptions, not to field resolvers: those call
 * toEdgeError themselves.
 */
@Catch()
export class ConversationErrorFilter implements GqlExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): Error {
    const context = GqlArgumentsHost.create(host).getContext<Partial<EdgeContext> | undefined>();
    const translated = toEdgeError(exception, context?.principal);
    return translated instanceof Error ? translated : new Error('a resolver threw a non-error');
  }
}
