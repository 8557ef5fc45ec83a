export {
  FilesModule,
  openBlobStore,
  BLOB_STORE,
  FILE_UPLOADS,
  FILE_ID_HEADER,
  FILE_STATUS_HEADER,
  FILE_RETENTION,
} from './files.module';
export { FileRetention, type RetentionSweep } from './application/file-retention';
export { FILES_COMMANDS, FILES_DOWNLOADS, FilesController } from './api/files.controller';
export { FileResolver, FILE_ATTACHMENTS, UPLOAD_PATH } from './api/file.resolver';
export { FileAttachmentDto } from './api/file.dto';
export type { BlobStore, BlobRange } from './blob-store/blob-store.port';
export { LocalDirectoryBlobStore } from './blob-store/adapters/local-directory-blob-store.adapter';
export { S3BlobStore, type S3BlobStoreOptions } from './blob-store/adapters/s3-blob-store.adapter';
export { ClamdScanner, ScannerUnavailableError } from './adapters/clamd-scanner.adapter';
export type { VirusScanner, ScanResult } from './application/virus-scanner.port';
export {
  FileCommands,
  FileBusyError,
  type FileCommandResult,
} from './application/file-commands.handler';
export {
  FileDownloads,
  FileShreddedError,
  FileQuarantinedError,
  RangeNotSatisfiableError,
  type FileDescription,
  type Download,
} from './application/file-downloads.handler';
export {
  FileUploads,
  TenantStorageFullError,
  UploadOffsetError,
  type NewUpload,
  type FinishedUpload,
} from './application/file-uploads.handler';
export { FileNotFoundError, FileRefused, InvalidFileInput } from './domain/file.errors';
export { FileBodyCorruptError, BlobNotFoundError, BlobStoreUnavailableError } from './files.errors';
export type {
  FileEvent,
  FileUploaded,
  FileRemoved,
  FileQuarantined,
  ThumbnailAttached,
} from './domain/file.events';
export { FILE_EVENT_VERSIONS } from './domain/file.events';
export { filesManifest } from './manifest';
export { filesConfig, type FilesSettings } from './files.config';
/** For tests (of this lib and of the apps): a local S3 server, and clamd with an EICAR signature. */
export { LocalS3Server } from './testing/local-s3-server';
export { ClamdProcess, EICAR, EICAR_SIGNATURE, clamdMissing } from './testing/clamd-process';
