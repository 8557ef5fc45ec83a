import { IsBoolean, IsOptional, IsUUID } from 'class-validator';
import { IsClientId } from './conversation-input.validators';
import { ReactionInput } from './reaction.dto';

// Realtime inputs that differ from the GraphQL ones; the others (send, edit, redact, markRead)
// are the GraphQL input classes themselves, so both edges validate the same rules.

/** `react`: puts an emoji on a message, or takes it off with `remove: true`. */
export class RealtimeReactInput extends ReactionInput {
  @IsOptional()
  @IsBoolean()
  remove?: boolean;
}

/** `markDelivered`: the device defaults to the one the connection named in its `hello`. */
export class RealtimeMarkDeliveredInput {
  @IsUUID()
  conversationId!: string;

  @IsUUID()
  upToMessageId!: string;

  @IsOptional()
  @IsClientId()
  deviceId?: string;
}
