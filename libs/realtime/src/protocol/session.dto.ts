import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { DEFAULT_REALTIME_LIMITS } from '../realtime.config';

// The inputs of the operations the gateway serves itself. Each frame's fields besides v, op and
// ref must match one of these exactly (unknown fields are refused).

/** A device id as clients name their devices (the same alphabet as the x-ledgerline-device-id header). */
const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class HelloInput {
  /** The client's own id for this device: receipts and audit records name it. */
  @IsOptional()
  @Matches(DEVICE_ID)
  deviceId?: string;
}

export class PingInput {}

export class SyncCursorInput {
  @IsUUID()
  conversationId!: string;

  /** The last revision the client received (-1: none). */
  @IsInt()
  @Min(-1)
  @Max(Number.MAX_SAFE_INTEGER)
  revision!: number;
}

export class SyncInput {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(DEFAULT_REALTIME_LIMITS.maxSyncConversations)
  @ValidateNested({ each: true })
  @Type(() => SyncCursorInput)
  conversations?: SyncCursorInput[];

  /** Also catch up, from their start, the caller's conversations not named (default true). */
  @IsOptional()
  @IsBoolean()
  discover?: boolean;
}

export class ConversationInput {
  @IsUUID()
  conversationId!: string;
}

export class StatusInput {
  @IsIn(['online', 'away'])
  status!: 'online' | 'away';
}
