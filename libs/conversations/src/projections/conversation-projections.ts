import { migrate, type SqlClient } from '@ledgerline/database';
import type { CheckpointStore, Subscription } from '@ledgerline/event-store';
import {
  LedgerlineError,
  Pause,
  UnavailableError,
  ValidationError,
  comparePositions,
  type GlobalPosition,
} from '@ledgerline/kernel';
import { startDurableLedgerSubscription, type Ledger, type OpenedEvent } from '@ledgerline/ledger';
import { openConversationEvent } from '../application/conversation-events.codec';
import { CONVERSATION_STREAM_CATEGORY, parseConversationStreamId } from '../domain/stream-ids';
import { conversationListProjection } from './conversation-list.projection';
import type { ConversationProjection, ProjectedEvent } from './conversation-projection';
import { conversationReadModelMigrations } from './conversations.migrations';
import { messageEditsProjection } from './message-edits.projection';
import { messageHistoryProjection } from './message-history.projection';
import { reactionsProjection } from './reactions.projection';
import { receiptsProjection } from './receipts.projection';

/** Every conversations read model, in the order they are started and rebuilt. */
export const CONVERSATION_PROJECTIONS: readonly ConversationProjection[] = [
  conversationListProjection,
  messageHistoryProjection,
  messageEditsProjection,
  reactionsProjection,
  receiptsProjection,
];

const STREAM_PREFIX = `${CONVERSATION_STREAM_CATEGORY}:`;

/** The checkpoint of one generation of a projection: a rebuild starts from a new, empty one. */
export const projectionCheckpointName = (name: string, generation: number): string =>
  `conversations.${name}.g${generation}`;

/** A rebuild (here or in another process) replaced the generation this run was writing. */
export class ProjectionSupersededError extends LedgerlineError {
  readonly code = 'projection_superseded';
  constructor(readonly projection: string) {
    super(`projection ${projection} was rebuilt meanwhile; restarting on the new generation`);
  }
}

export interface RebuildOutcome {
  readonly name: string;
  /** The new generation (its checkpoint is `projectionCheckpointName(name, generation)`). */
  readonly generation: number;
  /** Events applied on the way to the end of the log as it was when the rebuild caught up. */
  readonly eventsApplied: number;
}

export interface ConversationProjectionsOptions {
  readonly projections?: readonly ConversationProjection[];
  /** Save each checkpoint after this many events (and whenever caught up). */
  readonly checkpointEvery?: number;
  /** First wait before restarting a failed projection; doubles up to `maxRestartDelayMs`. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  /** A projection stopped on an error and will restart (ids and codes only: never log events). */
  readonly onError?: (projection: string, error: unknown) => void;
  /** A transient read failure the subscription retries on its own. */
  readonly onRetry?: (projection: string, error: unknown, attempt: number) => void;
}

interface Run {
  readonly projection: ConversationProjection;
  stopped: boolean;
  subscription: Subscription | undefined;
  progress: GlobalPosition | undefined;
  applied: number;
  /** Settles at the first catch-up of this run (or rejects at its first failure). */
  readonly caughtUp: Promise<void>;
  resolveCaughtUp(): void;
  rejectCaughtUp(error: unknown): void;
  readonly pause: Pause;
  loop: Promise<void>;
}

/**
 * Runs the conversations read models, each on its own durable ledger subscription over the
 * `conversation:` streams, with its own checkpoint, and rebuilds them from zero.
 *
 * - Each event is applied in one transaction together with its stream revision per projection,
 *   so redelivery (at-least-once after a restart) changes nothing twice.
 * - A projection that fails (database down, a bug) restarts from its checkpoint after a backoff.
 * - `rebuildProjections` empties a projection's tables, starts a new generation (and so a new,
 *   empty checkpoint) and replays the log from the start; it resolves once the replay has caught
 *   up with the log. Every write checks the generation under a row lock, so a copy of the
 *   projection still running in another process stops writing the moment the rebuild begins and
 *   resumes on the new generation. While a rebuild runs, its read model is incomplete.
 */
export class ConversationProjections {
  private readonly projections: ReadonlyMap<string, ConversationProjection>;
  private readonly runs = new Map<string, Run>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly client: SqlClient,
    private readonly ledger: Pick<Ledger, 'subscribe'>,
    private readonly checkpoints: CheckpointStore,
    private readonly options: ConversationProjectionsOptions,
  ) {
    this.projections = new Map(
      (options.projections ?? CONVERSATION_PROJECTIONS).map((p) => [p.name, p]),
    );
  }

  static async create(
    client: SqlClient,
    ledger: Pick<Ledger, 'subscribe'>,
    checkpoints: CheckpointStore,
    options: ConversationProjectionsOptions = {},
  ): Promise<ConversationProjections> {
    await migrate(client, 'conversations', conversationReadModelMigrations);
    return new ConversationProjections(client, ledger, checkpoints, options);
  }

  /** Names of the projections, as `ledgerline projections rebuild [name]` accepts them. */
  get names(): readonly string[] {
    return [...this.projections.keys()];
  }

  /** Starts the named projections (default: all) that are not running yet. */
  start(names?: readonly string[]): void {
    for (const p of this.select(names)) {
      if (!this.runs.has(p.name)) this.launch(p);
    }
  }

  /** Stops every running projection, letting the event in hand finish and saving checkpoints. */
  async stop(): Promise<void> {
    await Promise.all([...this.runs.keys()].map((name) => this.stopOne(name)));
  }

  /**
   * Rebuilds the named projections (default: all) from the first event, one after another.
   * A projection that was running keeps running afterwards; one that was not is stopped again.
   */
  async rebuildProjections(names?: readonly string[]): Promise<RebuildOutcome[]> {
    const outcomes: RebuildOutcome[] = [];
    for (const p of this.select(names)) {
      const wasRunning = this.runs.has(p.name);
      await this.stopOne(p.name);
      const generation = await this.reset(p);
      const run = this.launch(p);
      try {
        await run.caughtUp;
      } finally {
        if (!wasRunning) await this.stopOne(p.name);
      }
      outcomes.push({ name: p.name, generation, eventsApplied: run.applied });
    }
    return outcomes;
  }

  /**
   * Resolves once every running projection (or the named ones) has handled the log up to
   * `position`, e.g. the position a command's ack carries: for read-your-writes and tests.
   */
  waitFor(
    position: GlobalPosition,
    options: { readonly timeoutMs?: number; readonly names?: readonly string[] } = {},
  ): Promise<void> {
    const names = options.names ?? [...this.runs.keys()];
    return new Promise((resolve, reject) => {
      const check = () => {
        const done = names.every((name) => {
          const progress = this.runs.get(name)?.progress;
          return progress !== undefined && comparePositions(progress, position) >= 0;
        });
        if (!done) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new UnavailableError(`projections did not reach the position in time`));
      }, options.timeoutMs ?? 10_000);
      this.waiters.add(check);
      check();
    });
  }

  private select(names: readonly string[] | undefined): ConversationProjection[] {
    if (names === undefined || names.length === 0) return [...this.projections.values()];
    const unknown = names.filter((n) => !this.projections.has(n));
    if (unknown.length > 0) {
      throw new ValidationError(
        `unknown projection(s) ${unknown.join(', ')}; known: ${this.names.join(', ')}`,
        'projection',
      );
    }
    return [...new Set(names)].map((n) => this.projections.get(n)!);
  }

  private launch(projection: ConversationProjection): Run {
    let resolveCaughtUp!: () => void;
    let rejectCaughtUp!: (error: unknown) => void;
    const caughtUp = new Promise<void>((resolve, reject) => {
      resolveCaughtUp = resolve;
      rejectCaughtUp = reject;
    });
    // Only a rebuild awaits it; a failure is reported through onError as well.
    caughtUp.catch(() => undefined);
    const run: Run = {
      projection,
      stopped: false,
      subscription: undefined,
      progress: undefined,
      applied: 0,
      caughtUp,
      resolveCaughtUp,
      rejectCaughtUp,
      pause: new Pause(),
      loop: Promise.resolve(),
    };
    this.runs.set(projection.name, run);
    run.loop = this.loop(run);
    return run;
  }

  private async stopOne(name: string): Promise<void> {
    const run = this.runs.get(name);
    if (!run) return;
    run.stopped = true;
    run.pause.interrupt();
    await run.subscription?.stop().catch(() => undefined);
    await run.loop;
    run.rejectCaughtUp(new ProjectionSupersededError(name));
    if (this.runs.get(name) === run) this.runs.delete(name);
  }

  private async loop(run: Run): Promise<void> {
    const { projection } = run;
    let failures = 0;
    while (!run.stopped) {
      try {
        const generation = await this.generationOf(projection.name);
        const subscription = await startDurableLedgerSubscription(this.ledger, this.checkpoints, {
          name: projectionCheckpointName(projection.name, generation),
          filter: { streamPrefixes: [STREAM_PREFIX] },
          checkpointEvery: this.options.checkpointEvery,
          onRetry: (error, attempt) => this.options.onRetry?.(projection.name, error, attempt),
          onEvent: async (opened) => {
            if (await this.handle(projection, generation, opened)) run.applied += 1;
            failures = 0;
            this.advance(run, opened.position);
          },
          onCaughtUp: (position) => {
            this.advance(run, position);
            run.resolveCaughtUp();
          },
        });
        run.subscription = subscription;
        if (run.stopped) {
          await subscription.stop();
          return;
        }
        await subscription.done;
      } catch (error) {
        if (run.stopped) return;
        if (error instanceof ProjectionSupersededError) continue;
        failures += 1;
        run.rejectCaughtUp(error);
        this.options.onError?.(projection.name, error);
        const base = this.options.restartDelayMs ?? 500;
        await run.pause.sleep(
          Math.min(this.options.maxRestartDelayMs ?? 30_000, base * 2 ** (failures - 1)),
        );
      }
    }
  }

  /** Applies one event unless this projection already has it; true when it was applied now. */
  private async handle(
    projection: ConversationProjection,
    generation: number,
    opened: OpenedEvent,
  ): Promise<boolean> {
    const ids = parseConversationStreamId(opened.streamId);
    // Not a conversation stream after all (the prefix filter is coarse): nothing to project.
    if (!ids || ids.tenantId !== opened.tenantId) return false;
    // Decoded before the transaction: an event this build cannot read stops the projection here.
    const event = openConversationEvent(opened);
    const actor = opened.metadata.actor;
    const projected: ProjectedEvent = {
      tenantId: ids.tenantId,
      conversationId: ids.conversationId,
      streamId: opened.streamId,
      revision: opened.revision,
      position: opened.position,
      recordedAt: opened.recordedAt,
      actor: actor && typeof actor === 'object' ? actor : undefined,
      type: opened.type,
      event,
    };
    return this.client.transaction(async (tx) => {
      const [row] = await tx.query<{ generation: number }>(
        'select generation from ll_conv_projections where name = $1 for share',
        [projection.name],
      );
      if (!row || Number(row.generation) !== generation) {
        throw new ProjectionSupersededError(projection.name);
      }
      const claimed = await tx.query(
        `insert into ll_conv_projection_streams (projection, stream_id, revision) values ($1, $2, $3)
         on conflict (projection, stream_id) do update set revision = excluded.revision
         where ll_conv_projection_streams.revision < excluded.revision
         returning revision`,
        [projection.name, opened.streamId, opened.revision.toString()],
      );
      if (claimed.length === 0) return false; // applied before: a redelivery
      await projection.apply(tx, projected);
      return true;
    });
  }

  private async generationOf(name: string): Promise<number> {
    const [row] = await this.client.query<{ generation: number }>(
      `insert into ll_conv_projections (name) values ($1)
       on conflict (name) do update set name = excluded.name
       returning generation`,
      [name],
    );
    return Number(row!.generation);
  }

  /** Empties the projection's tables and starts its next generation, in one transaction. */
  private async reset(projection: ConversationProjection): Promise<number> {
    return this.client.transaction(async (tx) => {
      const [row] = await tx.query<{ generation: number }>(
        `insert into ll_conv_projections (name, generation, rebuilt_at) values ($1, 1, now())
         on conflict (name) do update
           set generation = ll_conv_projections.generation + 1, rebuilt_at = now()
         returning generation`,
        [projection.name],
      );
      for (const table of projection.tables) await tx.exec(`delete from ${table}`);
      await tx.query('delete from ll_conv_projection_streams where projection = $1', [
        projection.name,
      ]);
      return Number(row!.generation);
    });
  }

  private advance(run: Run, position: GlobalPosition): void {
    if (run.progress && comparePositions(position, run.progress) <= 0) return;
    run.progress = position;
    for (const check of [...this.waiters]) check();
  }
}
