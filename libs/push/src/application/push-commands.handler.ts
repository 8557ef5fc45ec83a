import type { Principal } from '@ledgerline/identity';
import type { Clock, GlobalPosition } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import type { CommandHandler, CommandRunner, LoadedState, StateLoader } from '@ledgerline/pipeline';
import { DEFAULT_PUSH_LIMITS, type PushCommand, type PushLimits } from '../domain/push.commands';
import { decidePush, evolvePush, initialPushState, type PushState } from '../domain/push.decider';
import type { PushEvent } from '../domain/push.events';
import { pushStreamId } from '../domain/push-stream';
import { encodePushEvent, openPushEvent } from './push-events.codec';
import { PushBusyError, PushForServicesRefusedError } from './push.errors';

/** What a push command answers: the events it wrote (none for a no-op) and where they stand. */
export interface PushCommandResult {
  readonly events: readonly PushEvent[];
  /** Position of the last event appended; undefined when nothing was appended. */
  readonly position: GlobalPosition | undefined;
}

export interface PushCommandsOptions {
  readonly clock: Clock;
  readonly limits?: Partial<PushLimits>;
}

type Loaded = LoadedState<PushState>;

/**
 * Devices and preferences of the calling user, through the one CommandRunner: `push.manage` is
 * checked (a refusal recorded), the user's push stream is read and folded, the pure decider
 * decides, and the events are sealed and appended at the revision read. A user only ever acts on
 * their own stream: the stream is the principal's, never an argument.
 */
export class PushCommands {
  private readonly limits: PushLimits;

  constructor(
    private readonly runner: CommandRunner,
    private readonly ledger: Pick<Ledger, 'readStream'>,
    private readonly options: PushCommandsOptions,
  ) {
    this.limits = { ...DEFAULT_PUSH_LIMITS, ...options.limits };
  }

  /** A command of the calling user (their ids are filled in here, never taken from input). */
  execute(
    principal: Principal,
    command: DistributiveOmitIds<PushCommand>,
    commandId?: string,
  ): Promise<PushCommandResult> {
    if (principal.kind === 'service') return Promise.reject(new PushForServicesRefusedError());
    const full = {
      type: command.type,
      data: { ...command.data, tenantId: principal.tenantId, userId: principal.id },
    } as PushCommand;
    return this.runner.run(this.handler(true), this.loader, full, {
      principal,
      ...(commandId ? { commandId } : {}),
    });
  }

  /** A command the system issues on a user's behalf (a provider reported the token dead). */
  system(command: PushCommand): Promise<PushCommandResult> {
    return this.runner.run(this.handler(false), this.loader, command);
  }

  private handler(
    checked: boolean,
  ): CommandHandler<PushCommand, PushState, Loaded, PushEvent, PushCommandResult> {
    return {
      target: (c) => ({
        tenantId: c.data.tenantId,
        streamId: pushStreamId(c.data.tenantId, c.data.userId),
      }),
      ...(checked
        ? {
            access: (c: PushCommand) => ({
              permission: 'push.manage' as const,
              resource: { tenantId: c.data.tenantId, type: 'push_settings' },
            }),
          }
        : {}),
      decide: (c, loaded) =>
        decidePush(c, loaded.state, { now: this.options.clock.now(), limits: this.limits }),
      encode: encodePushEvent,
      unchanged: () => ({ events: [], position: undefined }),
      appended: (_c, _loaded, { events, result }) => ({ events, position: result.position }),
      busy: (_streamId, attempts) => new PushBusyError(attempts),
    };
  }

  /** The user's whole push stream, folded (a handful of events: devices and settings). */
  private readonly loader: StateLoader<PushState, Loaded> = {
    load: async (_tenantId, streamId) => {
      const events = await this.ledger.readStream(streamId);
      let state = initialPushState();
      let revision = -1n;
      for (const opened of events) {
        const event = openPushEvent(opened);
        if (event) state = evolvePush(state, event);
        revision = opened.revision;
      }
      return { streamId, state, revision };
    },
    forget: () => undefined,
  };
}

/** A push command as a caller gives it: the tenant and user come from the principal. */
export type DistributiveOmitIds<C> = C extends { type: infer T; data: infer D }
  ? { type: T; data: Omit<D, 'tenantId' | 'userId'> }
  : never;
