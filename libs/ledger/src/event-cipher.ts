import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for event payloads. A sealed body is `version(1) ‖ nonce(12) ‖ ciphertext ‖ tag(16)`.
 * The nonce is fresh and random for every event, which is why a data key seals a bounded number of
 * events (far below the 2^32 random-nonce limit); see the data-key rotation in the ledger.
 */
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface AssociatedData {
  readonly tenantId: string;
  readonly streamId: string;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
}

/** Binds a ciphertext to its event: moved to another event, it no longer decrypts. */
export function associatedData(a: AssociatedData): Buffer {
  return Buffer.from(
    JSON.stringify([
      'll-aad-v1',
      a.tenantId,
      a.streamId,
      a.eventId.toLowerCase(),
      a.type,
      a.schemaVersion,
    ]),
    'utf8',
  );
}

export function encryptPayload(key: Buffer, aad: Buffer, plaintext: Uint8Array): Uint8Array {
  assertKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()]);
}

/** Throws (without detail: the caller names the event) when the body or its binding was altered. */
export function decryptPayload(key: Buffer, aad: Buffer, sealed: Uint8Array): Buffer {
  assertKey(key);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < 1 + NONCE_BYTES + TAG_BYTES || buf[0] !== VERSION) {
    throw new Error('sealed body is malformed');
  }
  const nonce = buf.subarray(1, 1 + NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const body = buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

function assertKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error('data key must be 32 bytes');
}
