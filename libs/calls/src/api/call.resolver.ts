import { Catch, Inject, Logger, UseFilters } from '@nestjs/common';
import {
  Args,
  ArgsType,
  Field,
  Int,
  Mutation,
  Parent,
  Query,
  ResolveField,
  Resolver,
  Subscription,
  type GqlExceptionFilter,
} from '@nestjs/graphql';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ConversationType } from '@ledgerline/conversations';
import { CurrentPrincipal, createSubscriptionIterator } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { ValidationError } from '@ledgerline/kernel';
import { CallService } from '../application/call-service';
import type { CallUpdate } from '../application/call-fan-out';
import type { RelayedSignal } from '../application/call-signal-relay.port';
import { toCallDto, toCallEventDto, toEntryDto, toHistoryDto } from './call-api.views';
import {
  CallDeviceInput,
  CallDto,
  CallEntryDto,
  CallEventDto,
  CallEventsArgs,
  CallHistoryArgs,
  CallHistoryEntryDto,
  CallInput,
  SendCallSignalArgs,
  SfuRequestArgs,
  StartCallInput,
} from './call.dto';

/** Hands refusals to the GraphQL edge, which maps Ledgerline errors to stable codes. */
@Catch()
export class CallErrorFilter implements GqlExceptionFilter {
  catch(exception: unknown): Error {
    return exception instanceof Error ? exception : new Error('a resolver threw a non-error');
  }
}

/** How long a new subscription waits for the call feed to be live (only ever at start-up). */
const LIVE_WAIT_MS = 10_000;

/**
 * Calls over GraphQL, for web apps: the same operations as the realtime protocol (the same
 * CallService), the device named in each mutation, and `callEvents` for call changes and the
 * signals sent to the subscribing device.
 */
@Resolver()
@UseFilters(CallErrorFilter)
export class CallResolver {
  private readonly logger = new Logger('CallResolver');

  constructor(@Inject(CallService) private readonly calls: CallService) {}

  @Query(() => CallDto, { description: 'A call of one of the caller’s conversations.' })
  async call(@CurrentPrincipal() principal: Principal, @Args() args: CallInput): Promise<CallDto> {
    return toCallDto(await this.calls.callOf(principal, args.callId));
  }

  @Query(() => [CallHistoryEntryDto], {
    description:
      'A conversation’s calls, newest first: started by, participants, duration, outcome.',
  })
  async callHistory(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallHistoryArgs,
  ): Promise<CallHistoryEntryDto[]> {
    return (await this.calls.history(principal, args.conversationId, args.limit)).map(toHistoryDto);
  }

  @Mutation(() => CallEntryDto, {
    description:
      'Starts a call in a conversation and rings the other members. Group calls need an SFU (UNAVAILABLE, reason sfu_unavailable, without one).',
  })
  async startCall(
    @CurrentPrincipal() principal: Principal,
    @Args() args: StartCallInput,
  ): Promise<CallEntryDto> {
    return toEntryDto(
      await this.calls.startCall(principal, {
        conversationId: args.conversationId,
        kind: args.kind,
        media: args.media,
        deviceId: required(args.deviceId),
        ...(args.role ? { role: args.role } : {}),
      }),
    );
  }

  @Mutation(() => CallEntryDto, { description: 'Answers a call the caller is being rung for.' })
  async acceptCall(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallDeviceInput,
  ): Promise<CallEntryDto> {
    return toEntryDto(await this.calls.acceptCall(principal, device(args)));
  }

  @Mutation(() => CallEntryDto, {
    description: 'Joins a group call of one of the caller’s conversations.',
  })
  async joinCall(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallDeviceInput,
  ): Promise<CallEntryDto> {
    return toEntryDto(await this.calls.joinCall(principal, device(args)));
  }

  @Mutation(() => CallDto)
  async declineCall(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallDeviceInput,
  ): Promise<CallDto> {
    return toCallDto(await this.calls.declineCall(principal, device(args)));
  }

  @Mutation(() => CallDto)
  async leaveCall(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallDeviceInput,
  ): Promise<CallDto> {
    return toCallDto(await this.calls.leaveCall(principal, device(args)));
  }

  @Mutation(() => CallDto, { description: 'The caller withdraws a call nobody answered yet.' })
  async cancelCall(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallInput,
  ): Promise<CallDto> {
    return toCallDto(await this.calls.cancelCall(principal, args));
  }

  @Mutation(() => CallDto, { description: 'Ends a call for everyone in it.' })
  async endCall(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallInput,
  ): Promise<CallDto> {
    return toCallDto(await this.calls.endCall(principal, args));
  }

  @Mutation(() => Boolean, {
    description: 'Relays an SDP offer or answer, or an ICE candidate, to one device in the call.',
  })
  async sendCallSignal(
    @CurrentPrincipal() principal: Principal,
    @Args() args: SendCallSignalArgs,
  ): Promise<boolean> {
    await this.calls.signal(principal, {
      callId: args.callId,
      deviceId: required(args.deviceId),
      toUserId: args.toUserId,
      toDeviceId: args.toDeviceId,
      kind: args.kind,
      ...(args.sdp === undefined ? {} : { sdp: args.sdp }),
      ...(args.candidate === undefined
        ? {}
        : { candidate: jsonObject('candidate', args.candidate) }),
    });
    return true;
  }

  @Mutation(() => String, {
    description: 'A group call participant’s request to the SFU; the reply as JSON.',
  })
  async sfuRequest(
    @CurrentPrincipal() principal: Principal,
    @Args() args: SfuRequestArgs,
  ): Promise<string> {
    const reply = await this.calls.sfuRequest(principal, {
      callId: args.callId,
      deviceId: required(args.deviceId),
      method: args.method,
      data: jsonObject('data', args.data),
    });
    return JSON.stringify(reply);
  }

  @Subscription(() => CallEventDto, {
    description:
      'Changes of the calls that concern the caller and, with a device, the signals sent to it (the device counts as connected while subscribed).',
    resolve: (item: CallUpdate | RelayedSignal) => toCallEventDto(item),
  })
  async callEvents(
    @CurrentPrincipal() principal: Principal,
    @Args() args: CallEventsArgs,
  ): Promise<AsyncIterableIterator<CallUpdate | RelayedSignal>> {
    await this.calls.whenLive(LIVE_WAIT_MS);
    return createSubscriptionIterator<CallUpdate | RelayedSignal>(
      (push) => this.calls.watch(principal, args.deviceId, push, push),
      {
        onOverflow: () =>
          this.logger.warn({
            msg: 'call subscriber fell behind; ended',
            subscriberId: principal.id,
          }),
      },
    );
  }
}

function required(deviceId: string | undefined): string {
  if (deviceId === undefined) throw new ValidationError('deviceId: required', 'deviceId');
  return deviceId;
}

function device(args: CallDeviceInput) {
  return {
    callId: args.callId,
    deviceId: required(args.deviceId),
    ...(args.role ? { role: args.role } : {}),
  };
}

function jsonObject(field: string, text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError(`${field}: not JSON`, field);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError(`${field}: not a JSON object`, field);
  }
  return parsed as Record<string, unknown>;
}

@ArgsType()
class ConversationCallsArgs {
  @Field(() => Int, {
    nullable: true,
    description: 'At most this many, newest first (default 20).',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

/** `Conversation.calls`: the conversation's history shows its calls, each as one entry. */
@Resolver(() => ConversationType)
@UseFilters(CallErrorFilter)
export class ConversationCallsResolver {
  constructor(@Inject(CallService) private readonly service: CallService) {}

  @ResolveField(() => [CallHistoryEntryDto], {
    description:
      'The conversation’s calls, newest first: started by, participants, duration, outcome.',
  })
  async calls(
    @Parent() conversation: ConversationType,
    @CurrentPrincipal() principal: Principal,
    @Args() args: ConversationCallsArgs,
  ): Promise<CallHistoryEntryDto[]> {
    return (await this.service.history(principal, conversation.id, args.limit ?? 20)).map(
      toHistoryDto,
    );
  }
}
