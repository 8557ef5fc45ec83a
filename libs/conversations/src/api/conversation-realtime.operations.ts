import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import type { Principal } from '@ledgerline/identity';
import { encodePosition } from '@ledgerline/kernel';
import {
  InvalidInputError,
  realtimeOperation,
  type RealtimeOperation,
  type ReplyFields,
} from '@ledgerline/realtime';
import {
  ConversationCommands,
  type SendMessageResult,
} from '../application/conversation-commands.handler';
import { MessageNotFoundError } from '../application/conversations.errors';
import { ConversationQueries } from '../application/queries/conversation-queries.handler';
import { ConversationProjections } from '../projections/conversation-projections';
import { READ_YOUR_WRITES_TIMEOUT_MS } from './conversation-api.config';
import { toEdgeError } from './conversation-api.errors';
import { RealtimeMarkDeliveredInput, RealtimeReactInput } from './conversation-realtime.dto';
import { realtimeAck } from './conversation-realtime.views';
import {
  editMessageRequest,
  markDeliveredRequest,
  markReadRequest,
  reactionRequest,
  redactMessageRequest,
  sendMessageRequest,
} from './conversation-requests';
import { EditMessageInput, RedactMessageInput, SendMessageInput } from './message.dto';
import { MarkReadInput } from './receipt.dto';

/**
 * The conversation operations of the realtime protocol: send, edit, redact, react, markDelivered
 * and markRead. Each validates its frame with the same input class as the GraphQL mutation, builds
 * the same command (conversation-requests) and calls the same handler; refusals are translated as
 * for GraphQL (a non-member hears `not_found`, never that the conversation exists).
 *
 * A send is answered once its event is durably appended, with the message id, the event id, its
 * global position and its revision in the conversation. The same `clientMessageId` again answers
 * the original message's ack (`duplicate: true`) and writes nothing; with other content it is
 * refused (`conflict`, reason `idempotency_key_reused`) and writes nothing either.
 */
@Injectable()
export class ConversationRealtimeOperations {
  readonly operations: readonly RealtimeOperation[];

  constructor(
    @Inject(ConversationCommands) private readonly commands: ConversationCommands,
    @Inject(ConversationQueries) private readonly queries: ConversationQueries,
    @Inject(ConversationProjections) private readonly projections: ConversationProjections,
    @Inject(EVENT_STORE) private readonly store: Pick<EventStore, 'headPosition'>,
  ) {
    this.operations = [
      realtimeOperation('send', SendMessageInput, async ({ principal }, input) =>
        this.send(principal, input),
      ),
      realtimeOperation('edit', EditMessageInput, async ({ principal }, input) =>
        realtimeAck(await this.execute(principal, editMessageRequest(input))),
      ),
      realtimeOperation('redact', RedactMessageInput, async ({ principal }, input) =>
        realtimeAck(await this.execute(principal, redactMessageRequest(input))),
      ),
      realtimeOperation('react', RealtimeReactInput, async ({ principal }, input) =>
        realtimeAck(
          await this.execute(principal, reactionRequest(input, input.remove ? 'remove' : 'add')),
        ),
      ),
      realtimeOperation(
        'markDelivered',
        RealtimeMarkDeliveredInput,
        async ({ principal, deviceId }, input) => {
          const device = input.deviceId ?? deviceId;
          if (device === undefined) {
            throw new InvalidInputError([{ field: 'deviceId', constraints: ['isDefined'] }]);
          }
          return realtimeAck(
            await this.execute(principal, markDeliveredRequest({ ...input, deviceId: device })),
          );
        },
      ),
      realtimeOperation('markRead', MarkReadInput, async ({ principal }, input) =>
        realtimeAck(await this.execute(principal, markReadRequest(input))),
      ),
    ];
  }

  private async send(principal: Principal, input: SendMessageInput): Promise<ReplyFields> {
    const result = await this.execute(principal, sendMessageRequest(input));
    const base = {
      conversationId: result.conversationId,
      messageId: result.messageId,
      clientMessageId: input.clientMessageId,
      duplicate: result.duplicate,
    };
    if (!result.duplicate) {
      return {
        ...base,
        eventId: result.eventIds[0] ?? null,
        position: result.position === undefined ? null : encodePosition(result.position),
        revision: Number(result.revision),
      };
    }
    return { ...base, ...(await this.originalPlacement(principal, result)) };
  }

  /**
   * Where the original of a retried send sits, from the read models (after waiting for them to
   * reach the end of the log when they do not have it yet). Null fields only when they cannot
   * say now: the retry itself wrote nothing either way.
   */
  private async originalPlacement(
    principal: Principal,
    result: SendMessageResult,
  ): Promise<ReplyFields> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const placed = await this.queries.sentMessage(
          principal,
          result.conversationId,
          result.messageId,
        );
        return {
          eventId: placed.eventId,
          position: encodePosition(placed.position),
          revision: Number(placed.revision),
        };
      } catch (error) {
        if (!(error instanceof MessageNotFoundError) || attempt > 0) break;
        try {
          await this.projections.waitFor(await this.store.headPosition(), {
            timeoutMs: READ_YOUR_WRITES_TIMEOUT_MS,
          });
        } catch {
          break;
        }
      }
    }
    return {
      eventId: null,
      position: result.position === undefined ? null : encodePosition(result.position),
      revision: null,
    };
  }

  private async execute<R extends Parameters<ConversationCommands['execute']>[1]>(
    principal: Principal,
    request: R,
  ) {
    try {
      return await this.commands.execute(principal, request);
    } catch (error) {
      throw toEdgeError(error, principal);
    }
  }
}
