import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { IsInt, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsMemberId } from './conversation-input.validators';

/** Longest grant: 24 hours. */
export const MAX_EMERGENCY_MINUTES = 24 * 60;

@InputType()
export class GrantEmergencyAccessInput {
  @Field(() => ID, { description: 'The person who may read (a user id of the tenant).' })
  @IsMemberId()
  userId!: string;

  @Field(() => ID)
  @IsUUID()
  conversationId!: string;

  @Field(() => String, {
    description:
      'Why (mandatory, at most 1,000 characters). Sealed in the grant’s event; never stored or logged in clear.',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(1_000)
  reason!: string;

  @Field(() => Int, {
    description: `How long the grant lasts, in minutes (1 to ${MAX_EMERGENCY_MINUTES}).`,
  })
  @IsInt()
  @Min(1)
  @Max(MAX_EMERGENCY_MINUTES)
  minutes!: number;
}

@InputType()
export class RevokeEmergencyAccessInput {
  @Field(() => ID)
  @IsUUID()
  grantId!: string;

  @Field(() => String, { description: 'Why (mandatory; sealed like the grant’s).' })
  @IsString()
  @MinLength(1)
  @MaxLength(1_000)
  reason!: string;
}

@ObjectType({
  description:
    'A break-glass grant: a named person may read one conversation they are not a member of until it expires or is revoked. Every read under it is recorded and alerted to the tenant’s auditors.',
})
export class EmergencyGrantView {
  @Field(() => ID)
  grantId!: string;

  @Field(() => ID)
  granteeId!: string;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => ID)
  grantedBy!: string;

  @Field(() => Date)
  grantedAt!: Date;

  @Field(() => Date)
  expiresAt!: Date;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}
