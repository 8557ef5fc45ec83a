import { Inject } from '@nestjs/common';
import { Args, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Message } from '@ledgerline/conversations';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import type { FileAttachments } from '../application/file-attachments';
import type { FileDescription, FileDownloads } from '../application/file-downloads.handler';
import { FileArgs, FileAttachmentDto, FileStatusEnum } from './file.dto';
import { FILES_DOWNLOADS } from './files.controller';

export const FILE_ATTACHMENTS = Symbol('FileAttachments');

/** Where clients send tus uploads (relative to the server). */
export const UPLOAD_PATH = '/v1/files/uploads';

export function toFileAttachment(d: FileDescription): FileAttachmentDto {
  return {
    id: d.fileId,
    conversationId: d.conversationId,
    uploaderId: d.uploaderId,
    name: d.name,
    mediaType: d.mediaType,
    size: d.size,
    sha256: d.sha256,
    uploadedAt: new Date(d.uploadedAt),
    status: d.status === 'quarantined' ? FileStatusEnum.QUARANTINED : FileStatusEnum.AVAILABLE,
    downloadUrl: `/v1/files/${d.fileId}`,
    thumbnailUrl: d.thumbnail ? `/v1/files/${d.fileId}/thumbnail` : null,
  };
}

/** Files in GraphQL: a message's attachments, one file by id, and where uploads go. */
@Resolver(() => Message)
export class FileResolver {
  constructor(
    @Inject(FILES_DOWNLOADS) private readonly downloads: FileDownloads,
    @Inject(FILE_ATTACHMENTS) private readonly files: FileAttachments,
  ) {}

  @ResolveField(() => [FileAttachmentDto], {
    description:
      'The message’s files, in order; files removed, shredded or no longer visible are left out.',
  })
  async attachments(
    @Parent() message: Message,
    @CurrentPrincipal() principal: Principal,
  ): Promise<FileAttachmentDto[]> {
    const ids = await this.files.ofMessage(principal.tenantId, message.conversationId, message.id);
    const described = new Map(
      (await this.downloads.describe(principal, ids)).map((d) => [d.fileId, d]),
    );
    return ids.flatMap((id) => {
      const d = described.get(id);
      return d ? [toFileAttachment(d)] : [];
    });
  }

  @Query(() => FileAttachmentDto, {
    nullable: true,
    description: 'A file of a conversation the caller is a member of; null for any other id.',
  })
  async file(
    @CurrentPrincipal() principal: Principal,
    @Args() args: FileArgs,
  ): Promise<FileAttachmentDto | null> {
    const [d] = await this.downloads.describe(principal, [args.id]);
    return d ? toFileAttachment(d) : null;
  }

  @Query(() => String, {
    description:
      'Where to send a tus upload (POST with Upload-Length and Upload-Metadata conversationId, filename, filetype), relative to the server.',
  })
  fileUploadUrl(): string {
    return UPLOAD_PATH;
  }
}
