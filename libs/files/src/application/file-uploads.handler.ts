import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromBuffer } from 'file-type';
import {
  accessActorOf,
  type AccessPolicy,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import {
  ConflictError,
  TooLargeError,
  type Clock,
  type GlobalPosition,
  type IdGenerator,
} from '@ledgerline/kernel';
import { isValidConversationId } from '@ledgerline/conversations';
import type { BlobStore } from '../blob-store/blob-store.port';
import { checkFileName } from '../domain/file-name';
import { assertMayUpload } from '../domain/file.decider';
import { FileNotFoundError, InvalidFileInput } from '../domain/file.errors';
import type { StoredBody } from '../domain/file.events';
import type { FileTypePolicy } from '../domain/file-type-policy';
import { DEFAULT_CHUNK_SIZE, sealedSize, type BodyLayout } from '../encryption/file-body-cipher';
import { BodySealer, openingStream, sealingStream } from '../encryption/file-body-streams';
import { openFileBox, sealFileBox } from '../encryption/file-box';
import { blobKeys } from './blob-keys';
import type { FileCommands } from './file-commands.handler';
import type { FileKeys } from './file-keys';
import type { FileRecords } from './file-records.port';
import type { UploadSession, UploadSessions } from './upload-sessions.port';
import type { VirusScanner } from './virus-scanner.port';
import type { Thumbnailer } from './thumbnailer.port';

/** Bytes `file-type` reads to recognise a type. */
const SNIFF_BYTES = 4100;

export interface FileUploadLimits {
  readonly maxFileBytes: number;
  readonly maxTenantBytes: number;
}

/** Thumbnails for images (optional): made after the file is recorded, sealed like it. */
export interface ThumbnailOptions {
  readonly thumbnailer: Thumbnailer;
  readonly ids: IdGenerator;
  /** Images larger than this get no thumbnail (the decoder holds the whole image). */
  readonly maxImageBytes: number;
  /** A thumbnail could not be made (the file itself is recorded all the same). Ids only. */
  readonly onError: (fileId: string, error: unknown) => void;
}

export interface NewUpload {
  readonly conversationId: string;
  readonly name: string;
  readonly mediaType: string;
  readonly size: number;
}

export interface FinishedUpload {
  readonly fileId: string;
  readonly conversationId: string;
  readonly status: 'available' | 'quarantined';
  readonly position: GlobalPosition | undefined;
}

/** The tenant's stored bytes would pass its cap. */
export class TenantStorageFullError extends TooLargeError {}

/** A resumed upload did not start where the stored upload stands. */
export class UploadOffsetError extends ConflictError {
  override readonly code = 'upload_offset_mismatch';
  constructor(
    readonly expected: number,
    readonly given: number,
  ) {
    super(`the upload stands at ${expected} bytes, not ${given}`);
  }
}

interface UploadMeta {
  readonly name: string;
  readonly mediaType: string;
}

/**
 * Uploads, in three steps a resumable protocol (tus) drives:
 *
 * - `begin`: every check that can be made before a byte arrives (permission, membership, name,
 *   declared type, per-file and per-tenant caps), then a key from the conversation's data keys and
 *   a session row; nothing is stored for a refused upload.
 * - `receive`: one request's bytes, sealed as they arrive into one part object (whole chunks),
 *   the bytes past the last whole chunk sealed into the session row. The declared type is checked
 *   against the first bytes before any part is written. A request that fails leaves the upload
 *   where it stood (the part's put is all or nothing), so it resumes from the last good offset.
 * - `finish`: the parts joined into one body, the body read back whole (every chunk's tag checked,
 *   the plaintext hashed and scanned), then FileUploaded (and FileQuarantined for a detection)
 *   appended in the conversation. Only then does the file exist for anyone.
 */
export class FileUploads {
  constructor(
    private readonly access: Pick<AccessPolicy, 'check'>,
    private readonly recorder: AccessRecorder,
    private readonly commands: FileCommands,
    private readonly sessions: UploadSessions,
    private readonly records: FileRecords,
    private readonly keys: FileKeys,
    private readonly blobs: BlobStore,
    private readonly policy: FileTypePolicy,
    private readonly scanner: VirusScanner | undefined,
    private readonly limits: FileUploadLimits,
    private readonly clock: Clock,
    private readonly thumbnails?: ThumbnailOptions,
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {}

  /** Checks and opens an upload under `fileId` (a fresh UUID the caller made). */
  async begin(principal: Principal, fileId: string, upload: NewUpload): Promise<void> {
    const { tenantId } = principal;
    if (!isValidConversationId(upload.conversationId)) {
      throw new InvalidFileInput('conversationId', 'invalid_format');
    }
    await this.access.check(principal, 'file.upload', {
      tenantId,
      type: 'conversation',
      id: upload.conversationId,
    });
    const name = checkFileName(upload.name);
    const mediaType = this.policy.declared(upload.mediaType);
    if (!Number.isSafeInteger(upload.size) || upload.size < 0) {
      throw new InvalidFileInput('size', 'invalid_format');
    }
    if (upload.size > this.limits.maxFileBytes) {
      throw new TooLargeError('file', upload.size, this.limits.maxFileBytes);
    }
    const conversation = await this.commands.conversation(tenantId, upload.conversationId);
    assertMayUpload(conversation, upload.conversationId, principal);
    const needed = sealedSize(upload.size, this.chunkSize);
    const used = await this.records.tenantUsage(tenantId);
    if (used + needed > this.limits.maxTenantBytes) {
      throw new TenantStorageFullError('tenant storage', used + needed, this.limits.maxTenantBytes);
    }
    const now = this.clock.now();
    const { keyId, epoch, key } = await this.keys.forNewFile(
      tenantId,
      upload.conversationId,
      fileId,
      now,
    );
    try {
      const meta: UploadMeta = { name, mediaType };
      await this.sessions.create({
        fileId,
        tenantId,
        conversationId: upload.conversationId,
        uploader: { id: principal.id, kind: principal.kind },
        size: upload.size,
        received: 0,
        parts: 0,
        keyId,
        epoch,
        chunkSize: this.chunkSize,
        meta: sealFileBox(key, 'upload-meta', fileId, Buffer.from(JSON.stringify(meta), 'utf8')),
        tail: undefined,
        createdAt: now,
      });
    } finally {
      key.fill(0);
    }
  }

  /** The caller's upload (its uploader only; anyone else is told there is none). */
  async session(principal: Principal, fileId: string): Promise<UploadSession> {
    const session = await this.sessions.get(fileId);
    if (
      !session ||
      session.tenantId !== principal.tenantId ||
      session.uploader.id !== principal.id
    ) {
      throw new FileNotFoundError(fileId);
    }
    return session;
  }

  /** Seals and stores one request's bytes from `offset`; the upload's new offset. */
  async receive(
    principal: Principal,
    fileId: string,
    offset: number,
    body: Readable,
  ): Promise<number> {
    const session = await this.session(principal, fileId);
    if (offset !== session.received) throw new UploadOffsetError(session.received, offset);
    const key = await this.keys.forFile(
      session.tenantId,
      session.conversationId,
      session.keyId,
      fileId,
    );
    try {
      const layout = this.layoutOf(session);
      const pending = session.tail
        ? openFileBox(key, 'upload-tail', fileId, session.tail)
        : Buffer.alloc(0);
      const sealer = new BodySealer(key, layout, { received: session.received, pending });
      const meta = this.metaOf(key, session);
      const sniffAt = Math.min(layout.size, SNIFF_BYTES);
      let head: Buffer | undefined = session.received < sniffAt ? pending : undefined;
      const check = async (sample: Buffer) => {
        const detected = await fileTypeFromBuffer(sample);
        this.policy.matches(meta.mediaType, detected?.mime, sample);
      };
      const sealing = new Transform({
        transform(data: Buffer, _encoding, done: TransformCallback) {
          void (async () => {
            if (head !== undefined) {
              head = Buffer.concat([head, data.subarray(0, sniffAt - head.length)]);
              if (head.length >= sniffAt) {
                await check(head);
                head = undefined;
              }
            }
            for (const piece of sealer.write(data)) this.push(piece);
          })().then(() => done(), done);
        },
        flush(done: TransformCallback) {
          // The whole file is shorter than the sniff window and has now arrived.
          if (head === undefined || sealer.position().received !== layout.size) return done();
          check(head).then(() => done(), done);
        },
      });
      try {
        body.on('error', (error) => sealing.destroy(error));
        await this.blobs.put(blobKeys.part(fileId, session.parts), body.pipe(sealing));
      } catch (error) {
        body.destroy();
        if (error instanceof InvalidFileInput) await this.drop(session);
        throw error;
      }
      const position = sealer.position();
      const tail =
        position.pending.length > 0
          ? sealFileBox(key, 'upload-tail', fileId, position.pending)
          : undefined;
      position.pending.fill(0);
      const moved = await this.sessions.advance(fileId, session.received, {
        received: position.received,
        parts: session.parts + 1,
        tail,
      });
      if (!moved) {
        await this.blobs.delete(blobKeys.part(fileId, session.parts));
        throw new UploadOffsetError(session.received, offset);
      }
      return position.received;
    } finally {
      key.fill(0);
    }
  }

  /** Joins, verifies, hashes and scans the stored body, then records the file. */
  async finish(principal: Principal, fileId: string): Promise<FinishedUpload> {
    let session = await this.session(principal, fileId);
    if (session.size === 0 && session.parts === 0) {
      // An empty file completes at creation, without a request body: seal its one empty chunk.
      await this.receive(principal, fileId, 0, Readable.from([]));
      session = await this.session(principal, fileId);
    }
    if (session.received !== session.size) {
      throw new UploadOffsetError(session.size, session.received);
    }
    const blobKey = await this.join(session);
    const key = await this.keys.forFile(
      session.tenantId,
      session.conversationId,
      session.keyId,
      fileId,
    );
    let meta: UploadMeta;
    let sha256: string;
    let infected: string | undefined;
    try {
      meta = this.metaOf(key, session);
      ({ sha256, infected } = await this.verify(key, this.layoutOf(session), blobKey));
    } finally {
      key.fill(0);
    }
    const body: StoredBody = {
      blobKey,
      keyId: session.keyId,
      epoch: session.epoch,
      chunkSize: session.chunkSize,
      size: session.size,
    };
    const result = await this.commands.execute(
      {
        type: 'RecordUpload',
        data: {
          tenantId: session.tenantId,
          conversationId: session.conversationId,
          fileId,
          actor: { id: principal.id, kind: principal.kind },
          name: meta.name,
          mediaType: meta.mediaType,
          sha256,
          body,
          ...(infected === undefined ? {} : { infected }),
        },
      },
      { principal, commandId: fileId },
    );
    await this.sessions.delete(fileId);
    if (infected !== undefined) {
      // The sender learns it from the answer to this request; the audit log keeps it.
      await this.recorder.record({
        tenantId: session.tenantId,
        actor: accessActorOf(principal),
        action: 'file.quarantined',
        outcome: 'denied',
        reason: 'malware',
        conversationId: session.conversationId,
        resourceType: 'file',
        targetIds: [fileId],
        subjectUserIds: [principal.id],
        ...(principal.origin ? { origin: principal.origin } : {}),
      });
    }
    let position = result.position;
    if (infected === undefined && this.thumbnails && this.policy.isImage(meta.mediaType)) {
      position = (await this.thumbnail(session, body, this.thumbnails)) ?? position;
    }
    return {
      fileId,
      conversationId: session.conversationId,
      status: infected === undefined ? 'available' : 'quarantined',
      position,
    };
  }

  /** Makes, seals and stores an image's thumbnail, and records it; its event's position. */
  private async thumbnail(
    session: UploadSession,
    body: StoredBody,
    options: ThumbnailOptions,
  ): Promise<GlobalPosition | undefined> {
    if (body.size > options.maxImageBytes) return undefined;
    const { fileId, tenantId, conversationId } = session;
    try {
      const fileKey = await this.keys.forFile(tenantId, conversationId, body.keyId, fileId);
      let made;
      try {
        const image = (await this.blobs.get(body.blobKey)).pipe(
          openingStream(fileKey, { fileId, size: body.size, chunkSize: body.chunkSize }),
        );
        made = await options.thumbnailer.thumbnail(image);
      } finally {
        fileKey.fill(0);
      }
      const thumbnailId = options.ids.next();
      const layout = { fileId: thumbnailId, size: made.data.length, chunkSize: body.chunkSize };
      const key = await this.keys.forFile(tenantId, conversationId, body.keyId, thumbnailId);
      try {
        await this.blobs.put(
          blobKeys.thumbnail(fileId),
          Readable.from([made.data]).pipe(sealingStream(key, layout)),
        );
      } finally {
        key.fill(0);
      }
      const recorded = await this.commands.execute(
        {
          type: 'AttachThumbnail',
          data: {
            tenantId,
            conversationId,
            fileId,
            actor: session.uploader,
            thumbnailId,
            body: { ...body, blobKey: blobKeys.thumbnail(fileId), size: made.data.length },
            mediaType: made.mediaType,
            width: made.width,
            height: made.height,
          },
        },
        { commandId: `${fileId}:thumbnail` },
      );
      return recorded.position;
    } catch (error) {
      options.onError(fileId, error);
      return undefined;
    }
  }

  /**
   * Drops uploads begun more than `maxAgeMs` ago and never finished (their parts and rows), so
   * they stop counting against the tenant's cap; how many.
   */
  async expire(maxAgeMs: number, limit = 500): Promise<number> {
    const stale = await this.sessions.startedBefore(
      new Date(this.clock.now().getTime() - maxAgeMs),
      limit,
    );
    for (const session of stale) await this.drop(session);
    return stale.length;
  }

  /** Abandons an upload: its parts and its row. */
  async abandon(principal: Principal, fileId: string): Promise<void> {
    await this.drop(await this.session(principal, fileId));
  }

  private async drop(session: UploadSession): Promise<void> {
    for (let part = 0; part <= session.parts; part++) {
      await this.blobs.delete(blobKeys.part(session.fileId, part));
    }
    await this.sessions.delete(session.fileId);
  }

  /** One body: the only part as it is, or the parts copied (ciphertext, in order) into one. */
  private async join(session: UploadSession): Promise<string> {
    if (session.parts === 1) return blobKeys.part(session.fileId, 0);
    // Joined by an earlier finish that failed later on.
    if (session.parts === 0) return blobKeys.body(session.fileId);
    const target = blobKeys.body(session.fileId);
    const blobs = this.blobs;
    await this.blobs.put(
      target,
      Readable.from(
        (async function* () {
          for (let part = 0; part < session.parts; part++) {
            yield* await blobs.get(blobKeys.part(session.fileId, part));
          }
        })(),
      ),
    );
    for (let part = 0; part < session.parts; part++) {
      await this.blobs.delete(blobKeys.part(session.fileId, part));
    }
    // A retried finish after this point finds the joined body under the part count it recorded.
    await this.sessions.advance(session.fileId, session.received, {
      received: session.received,
      parts: 0,
      tail: undefined,
    });
    return target;
  }

  /** Reads the stored body back through decryption: its hash, and the scanner's verdict. */
  private async verify(
    key: Buffer,
    layout: BodyLayout,
    blobKey: string,
  ): Promise<{ sha256: string; infected: string | undefined }> {
    const hash = createHash('sha256');
    const plaintext = new PassThrough();
    const scanning = this.scanner?.scan(plaintext);
    const reading = pipeline(
      await this.blobs.get(blobKey),
      openingStream(key, layout),
      new Transform({
        transform(data: Buffer, _encoding, done) {
          hash.update(data);
          done(null, data);
        },
      }),
      scanning ? plaintext : new Writable({ write: (_d, _e, done) => done() }),
    );
    const [, verdict] = await Promise.all([reading, scanning]);
    return {
      sha256: hash.digest('hex'),
      infected: verdict && !verdict.clean ? verdict.signature : undefined,
    };
  }

  private layoutOf(session: UploadSession): BodyLayout {
    return { fileId: session.fileId, size: session.size, chunkSize: session.chunkSize };
  }

  private metaOf(key: Buffer, session: UploadSession): UploadMeta {
    return JSON.parse(
      openFileBox(key, 'upload-meta', session.fileId, session.meta).toString('utf8'),
    ) as UploadMeta;
  }
}
