import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { IsUUID } from 'class-validator';
import { unboundedListCost } from './conversation-api.config';
import { IsClientId } from './conversation-input.validators';

@ObjectType({
  description:
    'A receipt mark: everything up to and including `upToMessageId` was delivered (to `deviceId`) or read.',
})
export class Receipt {
  @Field(() => ID)
  memberId!: string;

  @Field(() => String, { nullable: true, description: 'The device, for a delivery receipt.' })
  deviceId!: string | null;

  @Field(() => Int)
  upToSequence!: number;

  @Field(() => ID)
  upToMessageId!: string;

  @Field(() => Date, { description: 'When the mark last moved.' })
  at!: Date;
}

@ObjectType({ description: 'Every delivery mark (per device) and read mark (per member).' })
export class ConversationReceipts {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => [Receipt], { complexity: unboundedListCost })
  delivered!: Receipt[];

  @Field(() => [Receipt], { complexity: unboundedListCost })
  read!: Receipt[];
}

@ObjectType({ description: 'The devices a message was delivered to and the members who read it.' })
export class MessageReceipts {
  @Field(() => ID)
  messageId!: string;

  @Field(() => Int)
  sequence!: number;

  @Field(() => [Receipt], { complexity: unboundedListCost })
  delivered!: Receipt[];

  @Field(() => [Receipt], { complexity: unboundedListCost })
  read!: Receipt[];
}

@InputType()
export class MarkDeliveredInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => String, { description: 'The client’s id for the receiving device.' })
  @IsClientId()
  deviceId!: string;

  @Field(() => ID)
  @IsUUID()
  upToMessageId!: string;
}

@InputType()
export class MarkReadInput {
  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => ID)
  @IsUUID()
  upToMessageId!: string;
}
