/**
 * Events of a file, kept in its conversation's stream (`conversation:<tenantId>:<conversationId>`)
 * so the ledger seals them under the conversation's data keys: shredding the conversation (or the
 * epoch) makes names, types and hashes unreadable together with its messages. `data` is sealed as
 * a whole; only the type, version and actor's id are in clear.
 */
export interface FileActor {
  readonly id: string;
  readonly kind: 'user' | 'service' | 'agent';
}

export interface FileEventBase {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly fileId: string;
  readonly actor: FileActor;
  /** ISO 8601 time of the decision. */
  readonly at: string;
}

/** Where a sealed body lies and which data key opens it (see file-body-cipher.ts). */
export interface StoredBody {
  readonly blobKey: string;
  readonly keyId: string;
  readonly epoch: string;
  readonly chunkSize: number;
  /** Plaintext bytes. */
  readonly size: number;
}

type Versioned<Type extends string, V extends number, Data> = {
  readonly type: Type;
  readonly v: V;
  readonly data: FileEventBase & Readonly<Data>;
};

/** `sha256` is the hex SHA-256 of the plaintext, computed while the stored body was verified. */
export type FileUploaded = Versioned<
  'FileUploaded',
  1,
  { name: string; mediaType: string; sha256: string; body: StoredBody }
>;

/** The scanner found malware: the file is never served; `signature` is the scanner's name for it. */
export type FileQuarantined = Versioned<'FileQuarantined', 1, { signature: string }>;

/**
 * A smaller image made from the file, sealed like it under the same conversation's keys; its body
 * is sealed under its own id, `thumbnailId`.
 */
export type ThumbnailAttached = Versioned<
  'ThumbnailAttached',
  1,
  { thumbnailId: string; body: StoredBody; mediaType: string; width: number; height: number }
>;

export type FileRemoved = Versioned<'FileRemoved', 1, object>;

export type FileEvent = FileUploaded | FileQuarantined | ThumbnailAttached | FileRemoved;

export type FileEventType = FileEvent['type'];

export const FILE_EVENT_VERSIONS = {
  FileUploaded: 1,
  FileQuarantined: 1,
  ThumbnailAttached: 1,
  FileRemoved: 1,
} as const satisfies { [T in FileEventType]: Extract<FileEvent, { type: T }>['v'] };
