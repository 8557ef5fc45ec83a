import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { IsUUID } from 'class-validator';

export enum FileStatusEnum {
  AVAILABLE = 'available',
  QUARANTINED = 'quarantined',
}
registerEnumType(FileStatusEnum, {
  name: 'FileStatus',
  description: 'AVAILABLE: served to members. QUARANTINED: failed the virus scan, never served.',
});

@ObjectType('FileAttachment', { description: 'A file in a conversation, as its members see it.' })
export class FileAttachmentDto {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => ID)
  uploaderId!: string;

  @Field(() => String, { description: 'The name its sender gave it.' })
  name!: string;

  @Field(() => String, { description: 'Its media type, checked against its content at upload.' })
  mediaType!: string;

  @Field(() => Int, { description: 'Bytes (up to 2^53).' })
  size!: number;

  @Field(() => String, { description: 'Hex SHA-256 of its content.' })
  sha256!: string;

  @Field(() => Date)
  uploadedAt!: Date;

  @Field(() => FileStatusEnum)
  status!: FileStatusEnum;

  @Field(() => String, {
    description: 'Where to GET it (bearer-authenticated, Range supported), relative to the server.',
  })
  downloadUrl!: string;

  @Field(() => String, { nullable: true, description: 'Its thumbnail, for images.' })
  thumbnailUrl!: string | null;
}

@ArgsType()
export class FileArgs {
  @Field(() => ID)
  @IsUUID()
  id!: string;
}
