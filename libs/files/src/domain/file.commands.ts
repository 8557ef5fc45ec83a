import type { FileActor, StoredBody } from './file.events';

export interface FileCommandBase {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly fileId: string;
  readonly actor: FileActor;
}

type Command<Type extends string, Data> = {
  readonly type: Type;
  readonly data: FileCommandBase & Readonly<Data>;
};

/**
 * Records a body that is stored, verified and hashed. `infected` (a scanner's signature name)
 * quarantines it in the same decision: the upload is on record, the file never served.
 */
export type RecordUpload = Command<
  'RecordUpload',
  { name: string; mediaType: string; sha256: string; body: StoredBody; infected?: string }
>;

export type AttachThumbnail = Command<
  'AttachThumbnail',
  { thumbnailId: string; body: StoredBody; mediaType: string; width: number; height: number }
>;

/** `file` is what the read model knows of it (undefined: nothing). */
export type RemoveFile = Command<'RemoveFile', { file: KnownFile | undefined }>;

export type FileCommand = RecordUpload | AttachThumbnail | RemoveFile;

/** A file as the files read model knows it: ids and status only. */
export interface KnownFile {
  readonly conversationId: string;
  readonly uploaderId: string;
  readonly status: 'available' | 'quarantined' | 'removed';
}

export interface FileContext {
  readonly now: Date;
}
