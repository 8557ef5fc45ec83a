import { v5 as uuidV5 } from 'uuid';
import { WrongExpectedRevisionError, type AppendResult } from '@ledgerline/event-store';
import type { AccessPolicy, Permission, Principal, ResourceRef } from '@ledgerline/identity';
import type { IdGenerator } from '@ledgerline/kernel';
import type { Ledger, PlainEvent } from '@ledgerline/ledger';

/** A stream's decided state as a loader hands it over: where in the stream it stands. */
export interface LoadedState<S> {
  readonly streamId: string;
  readonly state: S;
  /** Revision of the last event folded into `state`; -1n when the stream has no events. */
  readonly revision: bigint;
}

/**
 * Loads a stream's current state: from a cache brought up to date by reading only newer events,
 * from a snapshot plus the events after it, or from the events. `forget` drops what it holds for
 * the stream (the outcome of an append is unknown, or the stream moved under it).
 */
export interface StateLoader<S, L extends LoadedState<S>> {
  /**
   * With `cached`, a state held in memory may be returned without reading the stream: the append's
   * expected revision catches one that is behind, and the runner then loads again without it.
   */
  load(tenantId: string, streamId: string, options: { readonly cached: boolean }): Promise<L>;
  forget(streamId: string): void;
}

/** What one kind of command brings to the runner: everything but the loop. */
export interface CommandHandler<C, S, L extends LoadedState<S>, E, R> {
  /** The tenant and stream the command acts on. */
  target(command: C): { readonly tenantId: string; readonly streamId: string };
  /**
   * What the principal must be allowed, checked (a refusal recorded) before anything is read.
   * Undefined: a command the system issues on its own (no principal to check).
   */
  access?(command: C): { readonly permission: Permission; readonly resource?: ResourceRef };
  /** Pure: the events the command decides on this state (none: nothing to do). */
  decide(command: C, loaded: L): readonly E[];
  /** The event as the ledger seals it; `eventId` is the one the runner chose. */
  encode(event: E, eventId: string): PlainEvent;
  /** The answer when nothing was decided (a retry, a no-op). */
  unchanged(command: C, loaded: L): R;
  /** The answer once the events are durably appended (fold, cache, snapshot as the domain likes). */
  appended(command: C, loaded: L, appended: Appended<E>): R | Promise<R>;
  /** The stream kept moving under every attempt. */
  busy(streamId: string, attempts: number): Error;
}

export interface Appended<E> {
  readonly events: readonly E[];
  readonly eventIds: readonly string[];
  readonly result: AppendResult;
}

export interface RunOptions {
  /** The authenticated caller; absent for a command the system issues itself. */
  readonly principal?: Principal;
  /**
   * The caller's id for this command. Its events get ids derived from it (and the stream), so a
   * command sent again after an unknown outcome (a timeout, a lost ack) that decides the same
   * events is recognised by the store and stored once.
   */
  readonly commandId?: string;
}

/** What the runner counts, for metrics. */
export interface CommandMetrics {
  countAppend(outcome: 'appended' | 'duplicate' | 'conflict' | 'error', events: number): void;
}

export interface CommandRunnerOptions {
  readonly ids: IdGenerator;
  readonly metrics?: CommandMetrics;
  /** Decide-and-append attempts when other writers move the stream meanwhile (default 5). */
  readonly maxAttempts?: number;
}

// Namespace of the event ids derived from command ids (a fixed, random UUID).
const COMMAND_EVENT_IDS = '6c1b1f0e-3f4a-4e0c-9a49-2d9a8f1b7c55';

/**
 * The one command runner every domain uses:
 *
 *   check access → load state (cache, snapshot, catch-up) → decide (pure) → seal and append at the
 *   loaded revision → on a lost race, load again from the stream and decide again → answer.
 *
 * The first attempt may decide on the state cached in memory without reading the stream at all:
 * the expected revision of the append is what guarantees it was current.
 *
 * - The access check comes first, before anything is read; a refusal is recorded by the policy.
 * - Commands on one stream are serialised in this process, so they never race each other; other
 *   processes are met by the expected revision: on WrongExpectedRevisionError the state is
 *   loaded again and the command decided again, at most `maxAttempts` times, then `busy`.
 * - An append whose outcome is unknown (the connection dropped around COMMIT) makes the loader
 *   forget the stream, so the next command reads what really happened.
 * - Idempotency: a domain whose state remembers its commands (a client message id) decides
 *   nothing for a repeat and answers `unchanged`; a command with a `commandId` also gets event ids
 *   derived from it, which the store recognises when the same events are appended again.
 */
export class CommandRunner {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly maxAttempts: number;

  constructor(
    private readonly ledger: Pick<Ledger, 'append'>,
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly options: CommandRunnerOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  async run<C, S, L extends LoadedState<S>, E, R>(
    handler: CommandHandler<C, S, L, E, R>,
    loader: StateLoader<S, L>,
    command: C,
    options: RunOptions = {},
  ): Promise<R> {
    const required = handler.access?.(command);
    if (required) {
      if (!options.principal) throw new Error('a checked command needs a principal');
      await this.access.check(options.principal, required.permission, required.resource);
    }
    const { tenantId, streamId } = handler.target(command);
    return this.serialised(streamId, () =>
      this.attempt(handler, loader, command, tenantId, streamId, options.commandId),
    );
  }

  private async attempt<C, S, L extends LoadedState<S>, E, R>(
    handler: CommandHandler<C, S, L, E, R>,
    loader: StateLoader<S, L>,
    command: C,
    tenantId: string,
    streamId: string,
    commandId: string | undefined,
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      // First from memory when the loader has it; after a lost race, from the stream.
      const loaded = await loader.load(tenantId, streamId, { cached: attempt === 1 });
      const events = handler.decide(command, loaded);
      if (events.length === 0) return handler.unchanged(command, loaded);
      const eventIds = events.map((_, i) =>
        commandId === undefined
          ? this.options.ids.next()
          : uuidV5(`${streamId}\u0000${commandId}\u0000${i}`, COMMAND_EVENT_IDS),
      );
      let result: AppendResult;
      try {
        result = await this.ledger.append(
          tenantId,
          streamId,
          events.map((e, i) => handler.encode(e, eventIds[i]!)),
          loaded.revision < 0n ? 'no_stream' : loaded.revision,
        );
      } catch (error) {
        const conflict = error instanceof WrongExpectedRevisionError;
        this.options.metrics?.countAppend(conflict ? 'conflict' : 'error', 0);
        if (conflict) {
          if (attempt < this.maxAttempts) continue; // load again, decide again
          throw handler.busy(streamId, attempt);
        }
        // The outcome is unknown (e.g. the connection dropped after COMMIT): read it next time.
        loader.forget(streamId);
        throw error;
      }
      this.options.metrics?.countAppend(
        result.duplicate ? 'duplicate' : 'appended',
        result.duplicate ? 0 : events.length,
      );
      return handler.appended(command, loaded, { events, eventIds, result });
    }
  }

  /** Runs `fn` after every earlier call for the same stream in this process has settled. */
  private async serialised<T>(streamId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.queues.get(streamId) ?? Promise.resolve();
    const run = before.then(fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(streamId, settled);
    try {
      return await run;
    } finally {
      if (this.queues.get(streamId) === settled) this.queues.delete(streamId);
    }
  }
}
