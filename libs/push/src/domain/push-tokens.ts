import { createHash } from 'node:crypto';
import { v5 as uuidV5 } from 'uuid';
import { InvalidPushInput } from './push.errors';
import type { PushPlatform } from './push.events';

/**
 * Device tokens as each provider issues them:
 * - APNs: the device token's bytes in hex; 32 bytes today, and Apple warns the length may grow,
 *   so any even number of hex digits from 64 to 200 (stored lower case).
 * - FCM: a registration token, URL-safe base64 with `:` separators; about 160 characters today,
 *   bounded here at 4 096.
 */
const APNS_TOKEN = /^(?:[0-9a-f]{2}){32,100}$/;
const FCM_TOKEN = /^[A-Za-z0-9_:-]{32,4096}$/;

/** The token normalised for its platform; InvalidPushInput (naming the field only) otherwise. */
export function normaliseToken(platform: PushPlatform, token: unknown): string {
  if (typeof token !== 'string') throw new InvalidPushInput('token', 'invalid_format');
  if (token.length > 4096) throw new InvalidPushInput('token', 'too_long');
  switch (platform) {
    case 'apns': {
      const lower = token.toLowerCase();
      if (!APNS_TOKEN.test(lower)) throw new InvalidPushInput('token', 'invalid_format');
      return lower;
    }
    case 'fcm':
      if (!FCM_TOKEN.test(token)) throw new InvalidPushInput('token', 'invalid_format');
      return token;
  }
}

// Namespace of device ids (a fixed, random UUID).
const DEVICE_IDS = '0b9c7f4e-2a61-4a8e-9d3c-5f1e8a7b6c21';

/**
 * A device's id: derived from the tenant, platform and token, so the same phone registering again
 * (or for another user after a sign-out) is the same device. Provider tokens carry at least 128
 * random bits, so neither the id nor this digest tells the token.
 */
export function deviceIdOf(tenantId: string, platform: PushPlatform, token: string): string {
  const digest = createHash('sha256')
    .update(`ledgerline push device v1\u0000${tenantId}\u0000${platform}\u0000${token}`, 'utf8')
    .digest('hex');
  return uuidV5(digest, DEVICE_IDS);
}

/** Bundle ids (iOS) and package names (Android): letters, digits, `.`, `_`, `-`. */
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,154}$/;

export function assertAppId(appId: unknown): asserts appId is string {
  if (typeof appId !== 'string' || !APP_ID.test(appId)) {
    throw new InvalidPushInput('appId', 'invalid_format');
  }
}
