import { createHash, randomBytes } from 'node:crypto';

/**
 * An API key reads `llk_<prefix>_<secret>`: `llk_` tells it apart from a JWT (and lets secret
 * scanners spot a leaked one), the 16-hex-digit prefix finds its row, and the secret is 32 random
 * bytes in base64url. The secret has 256 bits of entropy, so a plain SHA-256 of the key is enough
 * to store it: there is nothing to brute-force that a slow password hash would protect.
 */
export const API_KEY_MARKER = 'llk_';

const FORMAT = /^llk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ParsedApiKey {
  readonly prefix: string;
}

export function generateApiKey(): { key: string; prefix: string } {
  const prefix = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `${API_KEY_MARKER}${prefix}_${secret}`, prefix };
}

/** The prefix of a well-formed key; undefined for anything else. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  const match = FORMAT.exec(key);
  return match ? { prefix: match[1]! } : undefined;
}

export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_MARKER);
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
