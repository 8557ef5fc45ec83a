import type { Readable } from 'node:stream';
import { DataKeyShreddedError } from '@ledgerline/crypto';
import { ConversationShreddedError, conversationStreamId } from '@ledgerline/conversations';
import {
  accessActorOf,
  type AccessPolicy,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import { ConflictError, LedgerlineError } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import type { BlobStore } from '../blob-store/blob-store.port';
import { mayRead } from '../domain/file.decider';
import { FileNotFoundError } from '../domain/file.errors';
import type { FileUploaded, ThumbnailAttached } from '../domain/file.events';
import { blobSpan, openingStream, type ByteRange } from '../encryption/file-body-streams';
import type { FileCommands } from './file-commands.handler';
import { openFileEvent } from './file-events.codec';
import type { FileKeys } from './file-keys';
import type { FileRecord, FileRecords } from './file-records.port';

/** The file's keys were shredded: it stays unreadable for good. */
export class FileShreddedError extends LedgerlineError {
  readonly code = 'file_shredded';
  constructor(readonly fileId: string) {
    super(`file ${fileId} is unreadable: its keys were shredded`);
  }
}

/** The file failed its virus scan: it is never served. */
export class FileQuarantinedError extends ConflictError {
  override readonly code = 'file_quarantined';
  constructor(readonly fileId: string) {
    super(`file ${fileId} is quarantined`);
  }
}

/** The requested range does not fit in the file. */
export class RangeNotSatisfiableError extends LedgerlineError {
  readonly code = 'range_not_satisfiable';
  constructor(readonly size: number) {
    super(`the range is outside the file's ${size} bytes`);
  }
}

/** What a file is, to members: the sealed FileUploaded opened. */
export interface FileDescription {
  readonly fileId: string;
  readonly conversationId: string;
  readonly uploaderId: string;
  readonly name: string;
  readonly mediaType: string;
  readonly size: number;
  readonly sha256: string;
  readonly uploadedAt: string;
  readonly status: FileRecord['status'];
  readonly thumbnail: boolean;
}

export interface Download {
  readonly description: FileDescription;
  /** The served range; undefined for the whole file. */
  readonly range: ByteRange | undefined;
  /** Bytes the body will carry. */
  readonly length: number;
  /** Bytes of the whole file (or thumbnail). */
  readonly size: number;
  readonly body: Readable;
}

/**
 * Downloads and descriptions: member-only, streamed through decryption, ranged. Each download is
 * recorded (who, which file, from where, which bytes) before the first byte leaves; a record that
 * cannot be made refuses the download. A file another tenant owns, one the caller's conversation
 * does not hold, a removed file and a non-member's request are all FileNotFoundError, so file
 * ids cannot be probed; shredded keys are FileShreddedError and no byte is sent.
 */
export class FileDownloads {
  constructor(
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly recorder: AccessRecorder,
    private readonly commands: FileCommands,
    private readonly records: FileRecords,
    private readonly ledger: Pick<Ledger, 'readStream'>,
    private readonly keys: FileKeys,
    private readonly blobs: BlobStore,
  ) {}

  /** The files' descriptions a member may see (others are left out). */
  async describe(principal: Principal, fileIds: readonly string[]): Promise<FileDescription[]> {
    const out: FileDescription[] = [];
    for (const record of await this.records.many(principal.tenantId, fileIds)) {
      try {
        out.push(await this.readable(principal, record.fileId).then((r) => r.description));
      } catch (error) {
        if (!(error instanceof FileNotFoundError || error instanceof FileShreddedError))
          throw error;
      }
    }
    return out;
  }

  /** `rangeOf` picks the range to serve once the size is known (it may refuse with 416). */
  async download(
    principal: Principal,
    fileId: string,
    what: 'file' | 'thumbnail',
    rangeOf: (size: number) => ByteRange | undefined = () => undefined,
  ): Promise<Download> {
    const { record, description, uploaded } = await this.readable(principal, fileId);
    if (record.status === 'quarantined') throw new FileQuarantinedError(fileId);
    let body = uploaded.data.body;
    let bodyId = fileId;
    if (what === 'thumbnail') {
      const thumbnail = await this.thumbnailOf(record);
      body = thumbnail.data.body;
      bodyId = thumbnail.data.thumbnailId;
    }
    const layout = { fileId: bodyId, size: body.size, chunkSize: body.chunkSize };
    const range = rangeOf(body.size);
    if (range && (range.start > range.end || range.end >= body.size)) {
      throw new RangeNotSatisfiableError(body.size);
    }
    const key = await this.openKey(record, body.keyId, bodyId);
    let streaming = false;
    try {
      const length = range ? range.end - range.start + 1 : body.size;
      await this.recorder.record({
        tenantId: principal.tenantId,
        actor: accessActorOf(principal),
        action: what === 'file' ? 'phi.file.downloaded' : 'phi.file.thumbnail_downloaded',
        outcome: 'allowed',
        conversationId: record.conversationId,
        resourceType: 'file',
        targetIds: [
          fileId,
          range ? `bytes=${range.start}-${range.end}/${body.size}` : `bytes=${length}`,
        ],
        subjectUserIds: [record.uploaderId],
        ...(principal.origin ? { origin: principal.origin } : {}),
      });
      const span = blobSpan(layout, range);
      const stored = await this.blobs.get(body.blobKey, { start: span.start, end: span.end });
      const opening = openingStream(key, layout, range);
      stored.on('error', (error) => opening.destroy(error));
      const plaintext = stored.pipe(opening);
      // The key opens chunks as they stream: wiped once the stream is done with it.
      plaintext.on('close', () => {
        stored.destroy();
        key.fill(0);
      });
      streaming = true;
      return { description, range, length, size: body.size, body: plaintext };
    } finally {
      if (!streaming) key.fill(0);
    }
  }

  /** The record, its opened FileUploaded and description, for a member; else the typed refusal. */
  private async readable(principal: Principal, fileId: string) {
    const record = await this.records.get(principal.tenantId, fileId);
    if (!record || record.status === 'removed') throw new FileNotFoundError(fileId);
    await this.access.check(principal, 'file.read', {
      tenantId: principal.tenantId,
      type: 'conversation',
      id: record.conversationId,
    });
    const conversation = await this.commands
      .conversation(principal.tenantId, record.conversationId)
      .catch((error: unknown) => {
        if (error instanceof ConversationShreddedError) throw new FileShreddedError(fileId);
        throw error;
      });
    if (!mayRead(conversation, principal)) throw new FileNotFoundError(fileId);
    const uploaded = await this.openEvent<FileUploaded>(
      record,
      record.uploadedRevision,
      'FileUploaded',
    );
    const d = uploaded.data;
    const description: FileDescription = {
      fileId,
      conversationId: record.conversationId,
      uploaderId: record.uploaderId,
      name: d.name,
      mediaType: d.mediaType,
      size: d.body.size,
      sha256: d.sha256,
      uploadedAt: d.at,
      status: record.status,
      thumbnail: record.thumbnailRevision !== undefined,
    };
    return { record, description, uploaded };
  }

  private async thumbnailOf(record: FileRecord): Promise<ThumbnailAttached> {
    if (record.thumbnailRevision === undefined) throw new FileNotFoundError(record.fileId);
    return this.openEvent<ThumbnailAttached>(record, record.thumbnailRevision, 'ThumbnailAttached');
  }

  private async openEvent<E extends FileUploaded | ThumbnailAttached>(
    record: FileRecord,
    revision: bigint,
    type: E['type'],
  ): Promise<E> {
    const [opened] = await this.ledger.readStream(
      conversationStreamId(record.tenantId, record.conversationId),
      { fromRevision: revision, maxCount: 1 },
    );
    if (!opened || opened.revision !== revision || opened.type !== type) {
      throw new FileNotFoundError(record.fileId);
    }
    if (opened.body.status === 'shredded') throw new FileShreddedError(record.fileId);
    const event = openFileEvent(opened);
    if (!event || event.type !== type || event.data.fileId !== record.fileId) {
      throw new FileNotFoundError(record.fileId);
    }
    return event as E;
  }

  private async openKey(record: FileRecord, keyId: string, bodyId: string): Promise<Buffer> {
    try {
      return await this.keys.forFile(record.tenantId, record.conversationId, keyId, bodyId);
    } catch (error) {
      if (error instanceof DataKeyShreddedError) throw new FileShreddedError(record.fileId);
      throw error;
    }
  }
}
