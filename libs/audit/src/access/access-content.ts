import { createHash, randomBytes } from 'node:crypto';

/** Label of the content digest below; a new encoding gets a new label. */
export const ACCESS_CONTENT_FORMAT = 'll-access-content-v1';

/** The clear-metadata key of an access event holding its content digest. */
export const CONTENT_DIGEST_KEY = 'contentDigest';

/**
 * `SHA-256("ll-access-content-v1\n" ‖ payload)`, hex: the digest of an access event's plaintext,
 * written into its clear metadata when it is appended, so that its seal hash (which covers the
 * metadata) and through it the signed Merkle tree commit to what the record says. An audit bundle
 * then carries the plaintext, and `audit verify` proves it offline without any key.
 *
 * The payload carries a random salt, so the digest in clear gives nothing away to whoever reads
 * the store: without it, the few unknown fields of a record (a client address) could be guessed
 * and confirmed against the digest.
 */
export function accessContentDigest(payload: Uint8Array): string {
  return createHash('sha256')
    .update(`${ACCESS_CONTENT_FORMAT}\n`, 'utf8')
    .update(payload)
    .digest('hex');
}

/** A fresh salt for one access event's payload (128 bits, base64). */
export function accessContentSalt(): string {
  return randomBytes(16).toString('base64');
}
