import { ArgsType, Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { CONVERSATION_API_MAX_PAGE_SIZE } from './conversation-api.config';
import { IsPositionToken } from './conversation-input.validators';

// Shapes every conversation resolver shares: the ack of a command, and the arguments of reads.

@ObjectType({
  description:
    'A command’s acknowledgement, given once its events are durably appended. `position` is the global position token of the last event written; pass it as `minPosition` to a read to see your own write.',
})
export class ConversationAck {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => [ID], { description: 'Events appended, in order; empty when nothing changed.' })
  eventIds!: string[];

  @Field(() => String, {
    nullable: true,
    description: 'Position of the last event appended; null when the command changed nothing.',
  })
  position!: string | null;

  @Field(() => Boolean, { description: 'False when the command was a no-op (already so).' })
  changed!: boolean;
}

@InputType({ description: 'Names a conversation.' })
export class ConversationInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;
}

@ArgsType()
export class ReadArgs {
  @Field(() => String, {
    nullable: true,
    description:
      'A position token from an ack: the read waits until the read models include that position (read-your-writes); UNAVAILABLE (retryable) if they do not in time.',
  })
  @IsOptional()
  @IsPositionToken()
  minPosition?: string;
}

@ArgsType()
export class ConversationArgs extends ReadArgs {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;
}

@ArgsType()
export class MessageArgs extends ConversationArgs {
  @Field(() => ID)
  @IsUUID()
  messageId!: string;
}

/** A page of messages by cursor: `after` reads forwards, `before` backwards, neither the newest. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page size, 1 to ${CONVERSATION_API_MAX_PAGE_SIZE} (default 50).`,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(CONVERSATION_API_MAX_PAGE_SIZE)
  first?: number;

  @Field(() => String, { nullable: true, description: 'Items after this cursor (forwards).' })
  @IsOptional()
  @IsPositionToken()
  after?: string;

  @Field(() => String, { nullable: true, description: 'Items before this cursor (backwards).' })
  @IsOptional()
  @IsPositionToken()
  before?: string;
}
