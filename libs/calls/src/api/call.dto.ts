import { ArgsType, Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IceServerDto } from '@ledgerline/turn';
import { CALL_ID, CONVERSATION_ID } from '../domain/call-stream';

// Inputs: the same classes validate a realtime frame and GraphQL arguments (unknown fields are
// refused by both edges). The service checks again what it must (SDP size against the config).

const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MEMBER_ID = /^[!-;=?-~]{1,128}$/;
const SFU_METHOD = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Above any configured SDP cap: the frame is refused before the service measures it. */
const SDP_HARD_CAP = 262_144;

@ArgsType()
export class StartCallInput {
  @Field(() => ID)
  @Matches(CONVERSATION_ID)
  conversationId!: string;

  @Field(() => String, {
    description: '`direct` (peer-to-peer, one other member) or `group` (SFU).',
  })
  @IsIn(['direct', 'group'])
  kind!: 'direct' | 'group';

  @Field(() => String, { description: '`audio` or `video`.' })
  @IsIn(['audio', 'video'])
  media!: 'audio' | 'video';

  @Field(() => String, {
    nullable: true,
    description: '`speaker` (default when allowed) or `listener`.',
  })
  @IsOptional()
  @IsIn(['speaker', 'listener'])
  role?: 'speaker' | 'listener';

  @Field(() => String, {
    nullable: true,
    description: 'The caller’s device (realtime: the one its hello named).',
  })
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;
}

@ArgsType()
export class CallInput {
  @Field(() => ID)
  @Matches(CALL_ID)
  callId!: string;
}

@ArgsType()
export class CallDeviceInput extends CallInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;

  @Field(() => String, {
    nullable: true,
    description: '`speaker` (default when allowed) or `listener`.',
  })
  @IsOptional()
  @IsIn(['speaker', 'listener'])
  role?: 'speaker' | 'listener';
}

export class IceCandidateInput {
  @IsString()
  @MaxLength(1_024)
  candidate!: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  sdpMid?: string | null;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_024)
  sdpMLineIndex?: number | null;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  usernameFragment?: string | null;
}

/** A signal over the realtime protocol (`callSignal`). */
export class CallSignalInput extends CallInput {
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;

  @Matches(MEMBER_ID)
  toUserId!: string;

  @Matches(DEVICE_ID)
  toDeviceId!: string;

  @IsIn(['offer', 'answer', 'candidate'])
  kind!: 'offer' | 'answer' | 'candidate';

  @IsOptional()
  @IsString()
  @MaxLength(SDP_HARD_CAP)
  sdp?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => IceCandidateInput)
  candidate?: IceCandidateInput;
}

/** The same signal as GraphQL arguments: the candidate as its JSON text. */
@ArgsType()
export class SendCallSignalArgs extends CallInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;

  @Field(() => ID)
  @Matches(MEMBER_ID)
  toUserId!: string;

  @Field(() => String)
  @Matches(DEVICE_ID)
  toDeviceId!: string;

  @Field(() => String, { description: '`offer`, `answer` or `candidate`.' })
  @IsIn(['offer', 'answer', 'candidate'])
  kind!: 'offer' | 'answer' | 'candidate';

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(SDP_HARD_CAP)
  sdp?: string;

  @Field(() => String, { nullable: true, description: 'An RTCIceCandidateInit, as JSON.' })
  @IsOptional()
  @IsString()
  @MaxLength(2_048)
  candidate?: string;
}

/** A group call participant's request to the SFU (`callSfu`). */
export class CallSfuInput extends CallInput {
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;

  @Matches(SFU_METHOD)
  method!: string;

  @IsObject()
  data!: Record<string, unknown>;
}

@ArgsType()
export class SfuRequestArgs extends CallInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;

  @Field(() => String)
  @Matches(SFU_METHOD)
  method!: string;

  @Field(() => String, { description: 'The engine’s parameters, as a JSON object.' })
  @IsString()
  @MaxLength(65_536)
  data!: string;
}

@ArgsType()
export class CallHistoryArgs {
  @Field(() => ID)
  @Matches(CONVERSATION_ID)
  conversationId!: string;

  @Field(() => Int, {
    nullable: true,
    description: 'At most this many, newest first (default 50, up to 200).',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

@ArgsType()
export class CallEventsArgs {
  @Field(() => String, {
    nullable: true,
    description: 'Receive the signals sent to this device too (it counts as connected meanwhile).',
  })
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;
}

// ---- outputs -------------------------------------------------------------------------------------

@ObjectType('CallDevice')
export class CallDeviceDto {
  @Field(() => ID)
  userId!: string;
  @Field(() => String)
  deviceId!: string;
  @Field(() => String)
  role!: string;
  @Field(() => Boolean, { description: 'False while its connection is away (grace period).' })
  connected!: boolean;
}

@ObjectType('Call', { description: 'A call as its conversation’s members see it.' })
export class CallDto {
  @Field(() => ID)
  callId!: string;
  @Field(() => ID)
  conversationId!: string;
  @Field(() => String)
  kind!: string;
  @Field(() => String)
  media!: string;
  @Field(() => String, { description: '`ringing`, `active` or `ended`.' })
  status!: string;
  @Field(() => ID)
  startedBy!: string;
  @Field(() => Date)
  startedAt!: Date;
  @Field(() => Date)
  ringUntil!: Date;
  @Field(() => Date, { nullable: true })
  answeredAt!: Date | null;
  @Field(() => Date, { nullable: true })
  endedAt!: Date | null;
  @Field(() => [ID], { description: 'Users still being rung.' })
  ringing!: string[];
  @Field(() => [CallDeviceDto], { description: 'Devices in the call now.' })
  devices!: CallDeviceDto[];
  @Field(() => [ID], { description: 'Every user ever in the call.' })
  participants!: string[];
  @Field(() => Int)
  revision!: number;
}

@ObjectType('CallEntry', {
  description: 'A start, accept or join: the call and how to reach media.',
})
export class CallEntryDto {
  @Field(() => CallDto)
  call!: CallDto;
  @Field(() => [IceServerDto])
  iceServers!: IceServerDto[];
  @Field(() => Date)
  iceServersExpireAt!: Date;
  @Field(() => String, { nullable: true, description: 'Group calls: the SFU engine.' })
  sfuEngine!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Group calls: the engine’s join reply, as JSON.',
  })
  sfuPayload!: string | null;
}

@ObjectType('CallHistoryEntry', { description: 'One call of a conversation’s history.' })
export class CallHistoryEntryDto {
  @Field(() => ID)
  callId!: string;
  @Field(() => String)
  kind!: string;
  @Field(() => String)
  media!: string;
  @Field(() => String)
  status!: string;
  @Field(() => ID)
  startedBy!: string;
  @Field(() => Date)
  startedAt!: Date;
  @Field(() => Date, { nullable: true })
  endedAt!: Date | null;
  @Field(() => [ID])
  participants!: string[];
  @Field(() => Int, { nullable: true, description: 'From the first answer to the end.' })
  durationMs!: number | null;
  @Field(() => String, {
    nullable: true,
    description: '`completed`, `missed`, `declined`, `cancelled`.',
  })
  outcome!: string | null;
}

@ObjectType('CallEvent', {
  description:
    'A change of a call (`type` call) or a signal to the subscribing device (`type` signal).',
})
export class CallEventDto {
  @Field(() => String)
  type!: 'call' | 'signal';
  @Field(() => CallDto, { nullable: true })
  call!: CallDto | null;
  @Field(() => String, { nullable: true, description: 'The event that changed the call.' })
  change!: string | null;
  @Field(() => ID, { nullable: true })
  userId!: string | null;
  @Field(() => String, { nullable: true })
  deviceId!: string | null;
  @Field(() => String, { nullable: true })
  reason!: string | null;
  @Field(() => String, { nullable: true })
  outcome!: string | null;
  @Field(() => ID, { nullable: true, description: 'Signals: the call.' })
  callId!: string | null;
  @Field(() => ID, { nullable: true, description: 'Signals: the sending user (null: the SFU).' })
  fromUserId!: string | null;
  @Field(() => String, { nullable: true })
  fromDeviceId!: string | null;
  @Field(() => String, { nullable: true, description: '`offer`, `answer`, `candidate` or `sfu`.' })
  signalKind!: string | null;
  @Field(() => String, { nullable: true })
  sdp!: string | null;
  @Field(() => String, { nullable: true, description: 'The ICE candidate, or SFU data, as JSON.' })
  data!: string | null;
}
