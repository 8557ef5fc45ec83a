import { resolve } from 'node:path';
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Server as TusServer } from '@tus/server';
import {
  ATTACHMENT_CHECKS,
  CONVERSATION_STATES,
  type AttachmentChecks,
  type ConversationStates,
} from '@ledgerline/conversations';
import { FILE_ATTACHMENTS } from './api/file.resolver';
import { FileAttachments } from './application/file-attachments';
import { DATA_KEYS, DATA_KEY_STORE, type DataKeyStore, type DataKeys } from '@ledgerline/crypto';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import {
  ACCESS_POLICY,
  ACCESS_RECORDER,
  type AccessPolicy,
  type AccessRecorder,
} from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  describeError,
  type Clock,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  COMMAND_RUNNER,
  PROJECTION_PROCESSOR,
  type CommandRunner,
  type ProjectionProcessor,
} from '@ledgerline/pipeline';
import {
  FILES_COMMANDS,
  FILES_DOWNLOADS,
  FILES_TUS_SERVER,
  FilesController,
} from './api/files.controller';
import { httpFailureOf } from './api/http-errors';
import { currentPrincipal } from './api/request-principal';
import { TusUploadStore } from './api/tus-upload-store.adapter';
import { FileCommands } from './application/file-commands.handler';
import { FileDownloads } from './application/file-downloads.handler';
import { FileKeys } from './application/file-keys';
import type { FileRecords } from './application/file-records.port';
import { SqlFileRecords } from './adapters/sql-file-records.adapter';
import { SqlFilePurges } from './adapters/sql-file-purges.adapter';
import { FileRetention } from './application/file-retention';
import { loadFileTypePolicy } from './application/file-type-policy-file';
import { FileUploads } from './application/file-uploads.handler';
import { SqlUploadSessions } from './adapters/sql-upload-sessions.adapter';
import type { VirusScanner } from './application/virus-scanner.port';
import { LocalDirectoryBlobStore } from './blob-store/adapters/local-directory-blob-store.adapter';
import { S3BlobStore } from './blob-store/adapters/s3-blob-store.adapter';
import type { BlobStore } from './blob-store/blob-store.port';
import { ClamdScanner } from './adapters/clamd-scanner.adapter';
import { SharpThumbnailer } from './adapters/sharp-thumbnailer.adapter';
import { filesProjection } from './projections/files.projection';
import { filesConfig, type FilesSettings } from './files.config';

export interface FilesModuleOptions {
  /**
   * The app's ConversationsModule (the same instance it imports): files' commands ride in the
   * conversations' streams (CONVERSATION_STATES), and a send's attachments are checked through
   * ATTACHMENT_CHECKS.
   */
  readonly conversations: DynamicModule;
}

export const BLOB_STORE = Symbol('BlobStore');
export const FILE_UPLOADS = Symbol('FileUploads');
const FILE_RECORDS = Symbol('FileRecords');
const FILE_KEYS = Symbol('FileKeys');
const VIRUS_SCANNER = Symbol('VirusScanner');
const thumbnailLogger = new Logger('FileThumbnails');
export const FILE_RETENTION = Symbol('FileRetention');

/** How often the retention job looks for blobs under shredded keys. */
const RETENTION_EVERY_MS = 60 * 60 * 1000;

/** Runs the retention job hourly while the app runs (and once shortly after start). */
@Injectable()
class FileRetentionSchedule implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('FileRetention');
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(FILE_RETENTION) private readonly retention: FileRetention,
    @Inject(FILES_TUS_SERVER) private readonly tus: TusServer,
  ) {}

  onApplicationBootstrap(): void {
    const run = () => {
      this.running ??= this.tus
        .cleanUpExpiredUploads()
        .then(() => this.retention.sweep())
        .then(({ keyIds, blobsDeleted }) => {
          if (keyIds.length > 0) {
            this.logger.log({
              keys: keyIds.length,
              blobsDeleted,
              msg: 'deleted blobs of shredded keys',
            });
          }
        })
        .catch((error: unknown) =>
          this.logger.warn({ ...describeError(error), msg: 'retention sweep failed' }),
        )
        .finally(() => {
          this.running = undefined;
        });
    };
    this.timer = setInterval(run, RETENTION_EVERY_MS);
    this.timer.unref();
    this.first = setTimeout(run, 60_000);
    this.first.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.first);
    await this.running;
  }
}

/** Header names the upload's answer carries (exposed to browsers through CORS). */
export const FILE_ID_HEADER = 'Ledgerline-File-Id';
export const FILE_STATUS_HEADER = 'Ledgerline-File-Status';

export function openBlobStore(config: FilesSettings): BlobStore {
  if (config.store === 's3') {
    if (!config.s3) throw new Error('LEDGERLINE_FILES_STORE=s3 needs LEDGERLINE_FILES_S3_BUCKET');
    return new S3BlobStore({
      bucket: config.s3.bucket,
      keyPrefix: config.s3.keyPrefix,
      client: {
        region: config.s3.region,
        forcePathStyle: config.s3.forcePathStyle,
        ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
      },
    });
  }
  return new LocalDirectoryBlobStore(resolve(config.directory));
}

/**
 * Files: resumable uploads (tus) sealed as they arrive, the BlobStore, downloads, the files read
 * model on the one projection processor, and file commands on the one command runner in the
 * conversations' streams. Needs, from the app: CONFIG, CLOCK, ID_GENERATOR, SQL_CLIENT, LEDGER,
 * DATA_KEYS, ACCESS_POLICY, ACCESS_RECORDER, AUTHENTICATOR, COMMAND_RUNNER, PROJECTION_PROCESSOR
 * and CONVERSATION_STATES (ConversationsModule).
 */
@Module({})
export class FilesModule {
  static forRoot(options: FilesModuleOptions): DynamicModule {
    return {
      module: FilesModule,
      imports: [options.conversations],
      controllers: [FilesController],
      providers: [
        {
          provide: BLOB_STORE,
          inject: [CONFIG],
          useFactory: (config: LedgerlineConfig) => openBlobStore(config.slice(filesConfig)),
        },
        {
          provide: VIRUS_SCANNER,
          inject: [CONFIG],
          useFactory: (config: LedgerlineConfig): VirusScanner | null => {
            const { clamd } = config.slice(filesConfig);
            return clamd ? new ClamdScanner(clamd) : null;
          },
        },
        {
          provide: FILE_RECORDS,
          inject: [SQL_CLIENT, PROJECTION_PROCESSOR],
          useFactory: (client: SqlClient, processor: ProjectionProcessor) => {
            processor.register(filesProjection);
            return new SqlFileRecords(client);
          },
        },
        {
          provide: FILE_KEYS,
          inject: [DATA_KEYS],
          useFactory: (keys: DataKeys) => new FileKeys(keys),
        },
        {
          provide: FILES_COMMANDS,
          inject: [COMMAND_RUNNER, CONVERSATION_STATES, FILE_RECORDS, CLOCK, PROJECTION_PROCESSOR],
          useFactory: (
            runner: CommandRunner,
            states: ConversationStates,
            records: FileRecords,
            clock: Clock,
            processor: ProjectionProcessor,
          ) =>
            new FileCommands(runner, states, records, clock, (position) =>
              processor.waitFor(position, { names: [filesProjection.name], timeoutMs: 10_000 }),
            ),
        },
        {
          provide: FILE_UPLOADS,
          inject: [
            CONFIG,
            ACCESS_POLICY,
            ACCESS_RECORDER,
            FILES_COMMANDS,
            SQL_CLIENT,
            FILE_RECORDS,
            FILE_KEYS,
            BLOB_STORE,
            VIRUS_SCANNER,
            CLOCK,
            ID_GENERATOR,
          ],
          useFactory: async (
            config: LedgerlineConfig,
            access: AccessPolicy,
            recorder: AccessRecorder,
            commands: FileCommands,
            client: SqlClient,
            records: FileRecords,
            keys: FileKeys,
            blobs: BlobStore,
            scanner: VirusScanner | null,
            clock: Clock,
            ids: IdGenerator,
          ) =>
            new FileUploads(
              access,
              recorder,
              commands,
              new SqlUploadSessions(client),
              records,
              keys,
              blobs,
              await loadFileTypePolicy(config.slice(filesConfig).typesFile),
              scanner ?? undefined,
              {
                maxFileBytes: config.slice(filesConfig).maxFileBytes,
                maxTenantBytes: config.slice(filesConfig).maxTenantBytes,
              },
              clock,
              config.slice(filesConfig).thumbnails
                ? {
                    thumbnailer: new SharpThumbnailer(),
                    ids,
                    maxImageBytes: 50 * 1024 * 1024,
                    onError: (fileId, error) =>
                      thumbnailLogger.warn({
                        fileId,
                        ...describeError(error),
                        msg: 'no thumbnail',
                      }),
                  }
                : undefined,
            ),
        },
        {
          provide: FILES_DOWNLOADS,
          inject: [
            ACCESS_POLICY,
            ACCESS_RECORDER,
            FILES_COMMANDS,
            FILE_RECORDS,
            LEDGER,
            FILE_KEYS,
            BLOB_STORE,
          ],
          useFactory: (
            access: AccessPolicy,
            recorder: AccessRecorder,
            commands: FileCommands,
            records: FileRecords,
            ledger: Ledger,
            keys: FileKeys,
            blobs: BlobStore,
          ) => new FileDownloads(access, recorder, commands, records, ledger, keys, blobs),
        },
        {
          provide: FILE_ATTACHMENTS,
          inject: [FILE_RECORDS, ATTACHMENT_CHECKS],
          useFactory: (records: FileRecords, checks: AttachmentChecks) => {
            const attachments = new FileAttachments(records);
            checks.register(attachments);
            return attachments;
          },
        },
        {
          provide: FILE_RETENTION,
          inject: [SQL_CLIENT, DATA_KEY_STORE, BLOB_STORE, ACCESS_RECORDER, CLOCK, FILE_RECORDS],
          useFactory: (
            client: SqlClient,
            keys: DataKeyStore,
            blobs: BlobStore,
            recorder: AccessRecorder,
            clock: Clock,
          ) => new FileRetention(new SqlFilePurges(client), keys, blobs, recorder, clock),
        },
        FileRetentionSchedule,
        {
          provide: FILES_TUS_SERVER,
          inject: [CONFIG, FILE_UPLOADS, ID_GENERATOR],
          useFactory: (config: LedgerlineConfig, uploads: FileUploads, ids: IdGenerator) =>
            tusServer(config, uploads, ids),
        },
      ],
      exports: [
        FILES_DOWNLOADS,
        FILES_COMMANDS,
        FILE_UPLOADS,
        BLOB_STORE,
        FILE_ATTACHMENTS,
        FILE_RETENTION,
      ],
    };
  }
}

function tusServer(config: LedgerlineConfig, uploads: FileUploads, ids: IdGenerator): TusServer {
  const origins = config.http.allowedOrigins;
  return new TusServer({
    path: '/v1/files/uploads',
    datastore: new TusUploadStore(uploads, config.slice(filesConfig).uploadExpiryHours * 3_600_000),
    maxSize: config.slice(filesConfig).maxFileBytes,
    relativeLocation: true,
    respectForwardedHeaders: false,
    ...(origins ? { allowedOrigins: [...origins] } : {}),
    exposedHeaders: [FILE_ID_HEADER, FILE_STATUS_HEADER],
    namingFunction: () => ids.next(),
    onUploadCreate: async (_req, upload) => {
      const meta = upload.metadata ?? {};
      await uploads.begin(currentPrincipal(), upload.id, {
        conversationId: meta['conversationId'] ?? '',
        name: meta['filename'] ?? meta['name'] ?? '',
        mediaType: meta['filetype'] ?? meta['type'] ?? '',
        size: upload.size ?? -1,
      });
      // tus keeps no copy of the name or type: they are sealed in the upload's session.
      return { metadata: {} };
    },
    onUploadFinish: async (_req, upload) => {
      const finished = await uploads.finish(currentPrincipal(), upload.id);
      return {
        headers: { [FILE_ID_HEADER]: finished.fileId, [FILE_STATUS_HEADER]: finished.status },
      };
    },
    onResponseError: (_req, error) => {
      if (!(error instanceof Error) || 'status_code' in error) return undefined;
      const { status, body } = httpFailureOf(error);
      return { status_code: status, body: JSON.stringify(body) };
    },
  });
}
