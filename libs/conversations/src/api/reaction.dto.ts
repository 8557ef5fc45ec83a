import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { IsNotEmpty, IsString, IsUUID, MaxLength } from 'class-validator';
import { MAX_EMOJI_CHARS } from '../domain/conversation.validation';
import { unboundedListCost } from './conversation-api.config';
import { IsWellFormedText } from './conversation-input.validators';

@ObjectType({ description: 'One emoji on a message: how many members put it there, and who.' })
export class ReactionSummary {
  @Field(() => String, { nullable: true, description: 'Null when its events were shredded.' })
  emoji!: string | null;

  @Field(() => Int)
  count!: number;

  @Field(() => [ID], { complexity: unboundedListCost })
  memberIds!: string[];

  @Field(() => Boolean, { description: 'The caller is among `memberIds`.' })
  mine!: boolean;
}

@ObjectType()
export class MessageReactions {
  @Field(() => ID)
  messageId!: string;

  @Field(() => [ReactionSummary], { complexity: unboundedListCost })
  reactions!: ReactionSummary[];

  @Field(() => Boolean, {
    description: 'Some reactions could not be opened (shredded): counts may be incomplete.',
  })
  incomplete!: boolean;
}

@InputType({ description: 'An emoji (or :shortcode:) on a message; adding it twice is a no-op.' })
export class ReactionInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => ID)
  @IsUUID()
  messageId!: string;

  @Field(() => String)
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_EMOJI_CHARS)
  @IsWellFormedText()
  emoji!: string;
}
