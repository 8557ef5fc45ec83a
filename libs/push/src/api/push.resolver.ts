import { Catch, Inject, UseFilters } from '@nestjs/common';
import {
  Args,
  Context,
  Mutation,
  Parent,
  Query,
  ResolveField,
  Resolver,
  type GqlExceptionFilter,
} from '@nestjs/graphql';
import { ConversationType } from '@ledgerline/conversations';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import type { GlobalPosition } from '@ledgerline/kernel';
import { PROJECTION_PROCESSOR, type ProjectionProcessor } from '@ledgerline/pipeline';
import { PushCommands } from '../application/push-commands.handler';
import { PushQueries } from '../application/push-queries';
import { PUSH_PROJECTION } from '../projections/push.projection';
import {
  ConversationRefArgs,
  DoNotDisturbArgs,
  MuteConversationArgs,
  PushDeviceArgs,
  PushDeviceDto,
  PushSettingsDto,
  RegisterPushDeviceArgs,
  toDeviceDto,
  toSettingsDto,
} from './push.dto';

/** Read-your-writes: how long a mutation waits for its own change to reach the read models. */
const OWN_WRITE_WAIT_MS = 10_000;

/** Hands refusals to the edge's error mapping (as the other domains' filters do). */
@Catch()
export class PushErrorFilter implements GqlExceptionFilter {
  catch(exception: unknown): Error {
    return exception instanceof Error ? exception : new Error('a resolver threw a non-error');
  }
}

/**
 * Push over GraphQL: the caller's devices (register, list, remove) and preferences (mute a
 * conversation, do not disturb). A user acts on their own only: there is no user argument.
 */
@Resolver()
@UseFilters(PushErrorFilter)
export class PushResolver {
  constructor(
    @Inject(PushCommands) private readonly commands: PushCommands,
    @Inject(PushQueries) private readonly queries: PushQueries,
    @Inject(PROJECTION_PROCESSOR) private readonly processor: ProjectionProcessor,
  ) {}

  @Query(() => [PushDeviceDto], { description: 'The caller’s push devices.' })
  async pushDevices(@CurrentPrincipal() principal: Principal): Promise<PushDeviceDto[]> {
    return (await this.queries.devices(principal)).map(toDeviceDto);
  }

  @Query(() => PushSettingsDto, { description: 'The caller’s notification preferences.' })
  async pushSettings(@CurrentPrincipal() principal: Principal): Promise<PushSettingsDto> {
    return toSettingsDto(await this.queries.settings(principal));
  }

  @Mutation(() => PushDeviceDto, {
    description:
      'Registers (or refreshes) a device token for the caller. BAD_USER_INPUT when the token does not have its platform’s shape; CONFLICT (too_many_devices) past the limit. A token another user registered before becomes the caller’s.',
  })
  async registerPushDevice(
    @CurrentPrincipal() principal: Principal,
    @Args() args: RegisterPushDeviceArgs,
  ): Promise<PushDeviceDto> {
    const result = await this.commands.execute(principal, { type: 'RegisterDevice', data: args });
    await this.caughtUp(result.position);
    const devices = await this.queries.devices(principal);
    const registered = result.events[0];
    const deviceId =
      registered?.type === 'PushDeviceRegistered'
        ? registered.data.deviceId
        : devices.find(
            (d) =>
              d.platform === args.platform &&
              d.appId === args.appId &&
              d.environment === args.environment,
          )?.deviceId;
    const device = devices.find((d) => d.deviceId === deviceId);
    if (!device) throw new Error('registered device not in the read model');
    return toDeviceDto(device);
  }

  @Mutation(() => Boolean, {
    description:
      'Removes one of the caller’s devices. NOT_FOUND for a device that is not the caller’s (whether or not it exists).',
  })
  async unregisterPushDevice(
    @CurrentPrincipal() principal: Principal,
    @Args() args: PushDeviceArgs,
  ): Promise<boolean> {
    const result = await this.commands.execute(principal, {
      type: 'UnregisterDevice',
      data: { deviceId: args.deviceId, reason: 'user' },
    });
    await this.caughtUp(result.position);
    return true;
  }

  @Mutation(() => PushSettingsDto, {
    description: 'Mutes a conversation for the caller: until a time, or for good.',
  })
  async muteConversation(
    @CurrentPrincipal() principal: Principal,
    @Args() args: MuteConversationArgs,
  ): Promise<PushSettingsDto> {
    const result = await this.commands.execute(principal, {
      type: 'MuteConversation',
      data: { conversationId: args.conversationId, ...(args.until ? { until: args.until } : {}) },
    });
    return this.settingsAfter(principal, result.position);
  }

  @Mutation(() => PushSettingsDto, { description: 'Ends a mute of the caller’s.' })
  async unmuteConversation(
    @CurrentPrincipal() principal: Principal,
    @Args() args: ConversationRefArgs,
  ): Promise<PushSettingsDto> {
    const result = await this.commands.execute(principal, {
      type: 'UnmuteConversation',
      data: { conversationId: args.conversationId },
    });
    return this.settingsAfter(principal, result.position);
  }

  @Mutation(() => PushSettingsDto, {
    description: 'Do not disturb: no push at all until a time, or until cleared.',
  })
  async setDoNotDisturb(
    @CurrentPrincipal() principal: Principal,
    @Args() args: DoNotDisturbArgs,
  ): Promise<PushSettingsDto> {
    const result = await this.commands.execute(principal, {
      type: 'SetDoNotDisturb',
      data: args.until ? { until: args.until } : {},
    });
    return this.settingsAfter(principal, result.position);
  }

  @Mutation(() => PushSettingsDto, { description: 'Ends do not disturb.' })
  async clearDoNotDisturb(@CurrentPrincipal() principal: Principal): Promise<PushSettingsDto> {
    const result = await this.commands.execute(principal, { type: 'ClearDoNotDisturb', data: {} });
    return this.settingsAfter(principal, result.position);
  }

  private async settingsAfter(
    principal: Principal,
    position: GlobalPosition | undefined,
  ): Promise<PushSettingsDto> {
    await this.caughtUp(position);
    return toSettingsDto(await this.queries.settings(principal));
  }

  private async caughtUp(position: GlobalPosition | undefined): Promise<void> {
    if (position === undefined) return;
    await this.processor.waitFor(position, {
      timeoutMs: OWN_WRITE_WAIT_MS,
      names: [PUSH_PROJECTION],
    });
  }
}

/** One lookup of the viewer's mutes per request, however many conversations it lists. */
const mutesPerRequest = new WeakMap<object, Map<string, Promise<ReadonlySet<string>>>>();

/**
 * `Conversation.muted`, made real: whether the viewer muted the conversation and the mute still
 * runs. The conversations lib keeps its column false; this field resolver answers instead.
 */
@Resolver(() => ConversationType)
export class ConversationMutedResolver {
  constructor(@Inject(PushQueries) private readonly queries: PushQueries) {}

  @ResolveField(() => Boolean, {
    description: 'The viewer muted this conversation (and the mute has not ended).',
  })
  async muted(
    @Parent() conversation: { id: string },
    @CurrentPrincipal() principal: Principal,
    @Context() context: object,
  ): Promise<boolean> {
    let perRequest = mutesPerRequest.get(context);
    if (!perRequest) {
      perRequest = new Map<string, Promise<ReadonlySet<string>>>();
      mutesPerRequest.set(context, perRequest);
    }
    // Batches the conversations of one response: the first field asks for the whole page.
    const key = `${principal.tenantId}\u0000${principal.id}`;
    let muted = perRequest.get(key);
    if (!muted) {
      muted = this.queries.mutedConversations(principal.tenantId, principal.id);
      perRequest.set(key, muted);
    }
    return (await muted).has(conversation.id);
  }
}
