import type { Principal } from '@ledgerline/identity';
import type { Clock, GlobalPosition, IdGenerator } from '@ledgerline/kernel';
import type { Appended, CommandHandler, CommandRunner } from '@ledgerline/pipeline';
import {
  DEFAULT_CONVERSATION_LIMITS,
  type ConversationCommand,
  type ConversationLimits,
} from '../domain/conversation.commands';
import { decideConversation } from '../domain/conversation.decider';
import type { ConversationEvent } from '../domain/conversation.events';
import {
  findMessageIdByClientMessageId,
  foldOwnedConversation,
  type ConversationState,
} from '../domain/conversation.state';
import { conversationStreamId } from '../domain/stream-ids';
import { encodeConversationEvent, type CausalIds } from './conversation-events.codec';
import { permissionFor } from './conversation-permissions';
import type { ConversationSnapshotStore } from './conversation-snapshots.port';
import type {
  ConversationStates,
  LoadedConversation,
  MessagePlacement,
} from './conversation-states';
import { ConversationBusyError } from './conversations.errors';
import { AttachmentChecks } from './attachment-checks';

type FromPrincipal<C> = C extends { readonly type: infer T; readonly data: infer D }
  ? { readonly type: T; readonly data: Omit<D, 'tenantId' | 'actor'> }
  : never;

/**
 * A conversation command as a caller sends it: the tenant and the actor are not part of it, they
 * are the authenticated principal's.
 */
export type ConversationRequest = FromPrincipal<ConversationCommand>;
export type SendMessageRequest = Extract<ConversationRequest, { type: 'SendMessage' }>;

export interface ConversationCommandResult {
  readonly conversationId: string;
  readonly streamId: string;
  /** Events appended, in order; empty when the command changed nothing (a retry, a no-op). */
  readonly eventIds: readonly string[];
  /** The stream's revision after the command: its last appended event's, or the state's. */
  readonly revision: bigint;
  /**
   * Global position of the last appended event, for the ack. For a retried send, the original
   * message's when this process has seen its event (not when it came only from a snapshot).
   */
  readonly position: GlobalPosition | undefined;
}

export interface SendMessageResult extends ConversationCommandResult {
  /** The new message's id, or the original one when the client message id was already sent. */
  readonly messageId: string;
  /** True when the client message id was already sent: nothing new was stored. */
  readonly duplicate: boolean;
}

export type ResultOf<R extends ConversationRequest> = R extends SendMessageRequest
  ? SendMessageResult
  : ConversationCommandResult;

export interface ConversationCommandsOptions {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly limits?: ConversationLimits;
  /** Snapshot the state once it is this many events past the last snapshot. */
  readonly snapshotEvery?: number;
  /** A snapshot could not be written (the command itself succeeded). Ids only. */
  readonly onSnapshotError?: (streamId: string, error: unknown) => void;
  /** libs/files: checks a send's attachments (none registered: sends with files are refused). */
  readonly attachments?: AttachmentChecks;
}

type Result = ConversationCommandResult | SendMessageResult;

/**
 * The one entry for conversation commands, on the one CommandRunner: authorize → load (cache +
 * catch-up) → decide (pure) → append through the ledger (sealed) with the state's revision as the
 * expected revision. This class brings only what is the conversation's own: the decider, the
 * codec, the permission table, snapshots and the acks of sends.
 *
 * - A send retried with its client message id appends nothing and answers the original id.
 * - A conversation whose events were shredded (and that no readable snapshot covers) refuses every
 *   command with ConversationShreddedError.
 */
export class ConversationCommands {
  private readonly limits: ConversationLimits;
  private readonly snapshotEvery: number;

  constructor(
    private readonly runner: CommandRunner,
    private readonly states: ConversationStates,
    private readonly snapshots: ConversationSnapshotStore,
    private readonly options: ConversationCommandsOptions,
  ) {
    this.limits = options.limits ?? DEFAULT_CONVERSATION_LIMITS;
    this.snapshotEvery = options.snapshotEvery ?? 100;
  }

  async execute<R extends ConversationRequest>(
    principal: Principal,
    request: R,
    causal: CausalIds = {},
  ): Promise<ResultOf<R>> {
    const command = {
      type: request.type,
      data: {
        ...request.data,
        tenantId: principal.tenantId,
        actor: { id: principal.id, kind: principal.kind },
      },
    } as ConversationCommand;
    // libs/files
    if (command.type === 'SendMessage' && command.data.attachmentIds?.length) {
      await (this.options.attachments ?? new AttachmentChecks()).assert(
        principal,
        command.data.conversationId,
        command.data.attachmentIds,
      );
    }
    const result = await this.runner.run(this.handler(causal), this.states, command, {
      principal,
    });
    return result as ResultOf<R>;
  }

  private handler(
    causal: CausalIds,
  ): CommandHandler<
    ConversationCommand,
    ConversationState,
    LoadedConversation,
    ConversationEvent,
    Result
  > {
    return {
      target: (command) => ({
        tenantId: command.data.tenantId,
        streamId: conversationStreamId(command.data.tenantId, command.data.conversationId),
      }),
      access: (command) => ({
        permission: permissionFor(command),
        resource: {
          tenantId: command.data.tenantId,
          type: 'conversation',
          id: command.data.conversationId,
        },
      }),
      decide: (command, loaded) =>
        decideConversation(command, loaded.state, {
          now: this.options.clock.now(),
          ids: this.options.ids,
          limits: this.limits,
        }),
      encode: (event, eventId) => encodeConversationEvent(event, eventId, causal),
      unchanged: (command, loaded) => this.unchanged(command, loaded),
      appended: (command, loaded, appended) => this.appended(command, loaded, appended),
      busy: (streamId, attempts) => new ConversationBusyError(streamId, attempts),
    };
  }

  private async appended(
    command: ConversationCommand,
    loaded: LoadedConversation,
    { events, eventIds, result: appended }: Appended<ConversationEvent>,
  ): Promise<Result> {
    const revision = appended.nextExpectedRevision;
    const decided: LoadedConversation = {
      streamId: loaded.streamId,
      // The cache holds the only reference to the loaded state (commands on a stream run one at a
      // time): it is advanced in place, not copied.
      state: foldOwnedConversation(events, loaded.state),
      revision,
      lastEventId: eventIds[eventIds.length - 1],
      snapshotRevision: loaded.snapshotRevision,
    };
    // The store reports the last event's position; the decider decides one event per command,
    // so a sent message is that last event.
    const last = events[events.length - 1]!;
    const placement: MessagePlacement = { revision, position: appended.position };
    this.states.remember(
      decided,
      last.type === 'MessageSent' ? [[last.data.messageId, placement]] : [],
    );
    await this.snapshotIfDue(decided);
    const result: ConversationCommandResult = {
      conversationId: command.data.conversationId,
      streamId: loaded.streamId,
      eventIds,
      revision,
      position: appended.position,
    };
    if (last.type === 'MessageSent') {
      return { ...result, messageId: last.data.messageId, duplicate: false };
    }
    return result;
  }

  /** Nothing to append: a retried send answers with the original message. */
  private unchanged(
    command: ConversationCommand,
    loaded: LoadedConversation,
  ): ConversationCommandResult | SendMessageResult {
    const base: ConversationCommandResult = {
      conversationId: command.data.conversationId,
      streamId: loaded.streamId,
      eventIds: [],
      revision: loaded.revision,
      position: undefined,
    };
    if (command.type !== 'SendMessage') return base;
    const messageId = findMessageIdByClientMessageId(
      loaded.state,
      command.data.actor.id,
      command.data.clientMessageId,
    );
    // The decider decides nothing for a send only when the client message id is known.
    if (messageId === undefined) throw new Error('a send decided nothing for an unknown message');
    const placement = this.states.placementOf(loaded.streamId, messageId);
    return {
      ...base,
      revision: placement?.revision ?? loaded.revision,
      position: placement?.position,
      messageId,
      duplicate: true,
    };
  }

  private async snapshotIfDue(loaded: LoadedConversation): Promise<void> {
    if (loaded.revision - loaded.snapshotRevision < BigInt(this.snapshotEvery)) return;
    if (!loaded.state.exists) return;
    try {
      await this.snapshots.save(
        loaded.state.tenantId,
        loaded.streamId,
        loaded.revision,
        loaded.state,
      );
      this.states.remember({ ...loaded, snapshotRevision: loaded.revision });
    } catch (error) {
      // The command is appended and acknowledged all the same; the next one tries again.
      this.options.onSnapshotError?.(loaded.streamId, error);
    }
  }
}
