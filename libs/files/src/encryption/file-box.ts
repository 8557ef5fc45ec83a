import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Small sealed values that belong to one file, under its file key: an upload's declared name and
 * type, and the bytes past its last whole chunk between two requests. AES-256-GCM with a fresh
 * nonce; the associated data names the purpose and the file, so one cannot stand for another.
 * Format: nonce(12) ‖ ciphertext ‖ tag(16).
 */
export type FileBoxPurpose = 'upload-meta' | 'upload-tail';

export function sealFileBox(
  key: Buffer,
  purpose: FileBoxPurpose,
  fileId: string,
  plaintext: Buffer,
): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad(purpose, fileId));
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function openFileBox(
  key: Buffer,
  purpose: FileBoxPurpose,
  fileId: string,
  sealed: Uint8Array,
): Buffer {
  const box = Buffer.from(sealed);
  if (box.length < 28) throw new Error('sealed value is malformed');
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, 12), { authTagLength: 16 });
  decipher.setAAD(aad(purpose, fileId));
  decipher.setAuthTag(box.subarray(box.length - 16));
  return Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]);
}

function aad(purpose: FileBoxPurpose, fileId: string): Buffer {
  return Buffer.from(`ledgerline/file-box/v1\u0000${purpose}\u0000${fileId.toLowerCase()}`, 'utf8');
}
