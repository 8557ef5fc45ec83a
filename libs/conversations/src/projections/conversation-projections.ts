import { type SqlClient } from '@ledgerline/database';
import { ValidationError, type GlobalPosition } from '@ledgerline/kernel';
import type { Ledger, OpenedEvent } from '@ledgerline/ledger';
import {
  inRuns,
  ProjectionProcessor,
  type Projection,
  type ProjectionProcessorOptions,
  type RebuildOutcome,
} from '@ledgerline/pipeline';
import { openConversationEvent } from '../application/conversation-events.codec';
import { CONVERSATION_STREAM_CATEGORY, parseConversationStreamId } from '../domain/stream-ids';
import { conversationListProjection } from './conversation-list.projection';
import {
  isSentMessage,
  type ConversationProjection,
  type ProjectedEvent,
} from './conversation-projection';
import { messageEditsProjection } from './message-edits.projection';
import { messageHistoryProjection } from './message-history.projection';
import { reactionsProjection } from './reactions.projection';
import { receiptsProjection } from './receipts.projection';

/** Every conversations read model, in the order they are applied and rebuilt. */
export const CONVERSATION_PROJECTIONS: readonly ConversationProjection[] = [
  conversationListProjection,
  messageHistoryProjection,
  messageEditsProjection,
  reactionsProjection,
  receiptsProjection,
];

const STREAM_PREFIX = `${CONVERSATION_STREAM_CATEGORY}:`;

export type ConversationProjectionsOptions = ProjectionProcessorOptions;

// Every read model sees the same decoded event: decode it once per event, not once per model.
const projected = new WeakMap<OpenedEvent, ProjectedEvent | null>();

/** The event as the conversation read models take it; null for another stream that matched. */
function projectedEventOf(opened: OpenedEvent): ProjectedEvent | null {
  const known = projected.get(opened);
  if (known !== undefined) return known;
  const ids = parseConversationStreamId(opened.streamId);
  // Not a conversation stream after all (the prefix filter is coarse): nothing to project.
  const actor = opened.metadata.actor;
  const event: ProjectedEvent | null =
    !ids || ids.tenantId !== opened.tenantId
      ? null
      : {
          tenantId: ids.tenantId,
          conversationId: ids.conversationId,
          streamId: opened.streamId,
          revision: opened.revision,
          position: opened.position,
          recordedAt: opened.recordedAt,
          actor: actor && typeof actor === 'object' ? actor : undefined,
          type: opened.type,
          event: openConversationEvent(opened),
        };
  projected.set(opened, event);
  return event;
}

/** A conversations read model as the one projection processor runs it. */
function onThePipeline(projection: ConversationProjection): Projection {
  return {
    name: projection.name,
    streamPrefixes: [STREAM_PREFIX],
    tables: projection.tables,
    async apply(tx, opened) {
      const event = projectedEventOf(opened);
      if (event) await projection.apply(tx, event);
    },
    ...(projection.applySent
      ? {
          // Runs of messages sent in one statement per table; everything else as `apply`.
          async applyBatch(tx, opened) {
            const events = opened.flatMap((o) => projectedEventOf(o) ?? []);
            await inRuns(
              events,
              isSentMessage,
              (run) => projection.applySent!(tx, run),
              (event) => projection.apply(tx, event),
            );
          },
        }
      : {}),
  };
}

/**
 * The conversations read models on the event pipeline: registered with the process's one
 * ProjectionProcessor (which applies them, with every other read model, in shared batches), with
 * read-your-writes waits and blue/green rebuilds narrowed to them.
 */
export class ConversationProjections {
  private constructor(
    private readonly processor: ProjectionProcessor,
    readonly names: readonly string[],
  ) {}

  /** Registers the read models with the app's processor (their tables are migrated at start). */
  static register(
    processor: ProjectionProcessor,
    projections: readonly ConversationProjection[] = CONVERSATION_PROJECTIONS,
  ): ConversationProjections {
    for (const p of projections) processor.register(onThePipeline(p));
    return new ConversationProjections(
      processor,
      projections.map((p) => p.name),
    );
  }

  /** With a processor of their own (tools and tests that run nothing else). */
  static create(
    client: SqlClient,
    ledger: Pick<Ledger, 'subscribe'>,
    options: ConversationProjectionsOptions = {},
  ): ConversationProjections {
    return ConversationProjections.register(ProjectionProcessor.create(client, ledger, options));
  }

  /** Starts the processor these read models run on (no-op when it runs). */
  start(): void {
    this.processor.start();
  }

  async stop(): Promise<void> {
    await this.processor.stop();
  }

  /** Rebuilds the named read models (default: all) blue/green, one after another. */
  async rebuildProjections(names?: readonly string[]): Promise<RebuildOutcome[]> {
    const unknown = (names ?? []).filter((n) => !this.names.includes(n));
    if (unknown.length > 0) {
      throw new ValidationError(
        `unknown projection(s) ${unknown.join(', ')}; known: ${this.names.join(', ')}`,
        'projection',
      );
    }
    return this.processor.rebuild(names && names.length > 0 ? names : this.names);
  }

  /**
   * Resolves once the named read models (default: all of them) hold the log up to `position`, e.g.
   * the position a command's ack carries: for read-your-writes and tests.
   */
  waitFor(
    position: GlobalPosition,
    options: { readonly timeoutMs?: number; readonly names?: readonly string[] } = {},
  ): Promise<void> {
    return this.processor.waitFor(position, {
      timeoutMs: options.timeoutMs,
      names: options.names ?? this.names,
    });
  }
}
